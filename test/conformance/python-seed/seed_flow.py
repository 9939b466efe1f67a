"""The seed's flows with the official Python SDK (`anthropic`), against the Paddock named by
ANTHROPIC_BASE_URL (key in ANTHROPIC_API_KEY), exiting non-zero at the first step that does not
behave as the guide says. Responses are checked by the SDK's strict validation. The model behind
Paddock is scripted (test/support/sdk-flow.ts): a question about the weather gets a call of the
custom tool `get_weather`, whose result is quoted back; anything else gets FLOW_GREETING.
test/conformance/seed-flow-python.test.ts drives it."""

from __future__ import annotations

import sys
import uuid
from typing import Any, Callable, Iterable

import anthropic

GREETING = "Hello from the scripted model, in a few chunks."
TOOL_RESULT = "sunny, 21C"
WEATHER_TOOL = {
    "type": "custom",
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}

current_step = "start"


def step(name: str) -> None:
    global current_step
    current_step = name


def check(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(what)


def expect_error(cls: type[anthropic.APIStatusError], status: int, call: Callable[[], Any]) -> anthropic.APIStatusError:
    try:
        call()
    except cls as err:
        check(err.status_code == status, f"{cls.__name__} with status {err.status_code}")
        body = err.body
        check(isinstance(body, dict) and body.get("type") == "error" and isinstance(body.get("error"), dict), f"error envelope {body!r}")
        check(bool(err.api_message), "the error has no message")
        return err
    raise AssertionError(f"expected {cls.__name__}")


def user_message(text: str) -> dict[str, Any]:
    return {"type": "user.message", "content": [{"type": "text", "text": text}]}


def agent_text(events: Iterable[Any]) -> str:
    return "".join(block.text for e in events if e.type == "agent.message" for block in e.content if block.type == "text")


def until_idle(stream: Iterable[Any], seen: set[str], out: list[Any]) -> Any:
    """Reads the stream up to the next idle, skipping events already seen (by id) and failing on a repeat."""
    for event in stream:
        if event.type == "session.error":
            raise AssertionError(f"session.error on the stream: {event.to_json()}")
        if event.id in seen:
            continue
        seen.add(event.id)
        out.append(event)
        if event.type == "session.status_idle":
            return event
    raise AssertionError("the stream ended before the session went idle")


def main() -> None:
    # ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY come from the environment, as in the guide.
    client = anthropic.Anthropic(max_retries=0, timeout=60, _strict_response_validation=True)
    run = uuid.uuid4().hex[:8]

    step("environments")
    environment = client.beta.environments.create(name=f"py-env-{run}", config={"type": "cloud", "networking": {"type": "unrestricted"}})
    check(environment.id.startswith("env_"), environment.id)
    check(client.beta.environments.retrieve(environment.id).name == f"py-env-{run}", "retrieved name")

    step("agents with versions")
    agent = client.beta.agents.create(
        name="Coding Assistant",
        model="claude-opus-4-7",
        system="You are a helpful coding assistant.",
        tools=[{"type": "agent_toolset_20260401"}, WEATHER_TOOL],
    )
    check(agent.version == 1 and len(agent.tools) == 2, f"version {agent.version}, {len(agent.tools)} tools")
    updated = client.beta.agents.update(agent.id, version=agent.version, system="You are a helpful coding agent. Always write tests.")
    check(updated.version == 2 and updated.system == "You are a helpful coding agent. Always write tests.", f"version {updated.version}")
    # The version guard: an update against a version that is no longer current is refused.
    expect_error(anthropic.ConflictError, 409, lambda: client.beta.agents.update(agent.id, version=1, system="stale"))
    versions = [v.version for v in client.beta.agents.versions.list(agent.id)]
    check(versions == [2, 1], f"versions {versions}")
    check(client.beta.agents.retrieve(agent.id, version=1).system == "You are a helpful coding assistant.", "version 1 kept its system prompt")

    step("sessions")
    session = client.beta.sessions.create(
        agent={"type": "agent", "id": agent.id, "version": updated.version},
        environment_id=environment.id,
        title="Quickstart session",
    )
    check(session.status == "idle" and session.agent.version == 2, f"status {session.status}, agent version {session.agent.version}")
    check(any(s.id == session.id for s in client.beta.sessions.list()), "session listed")

    step("a streamed turn")
    seen: set[str] = set()
    turn: list[Any] = []
    with client.beta.sessions.events.stream(session.id) as stream:
        sent = client.beta.sessions.events.send(session.id, events=[user_message("Say hello")])
        check(len(sent.data) == 1 and sent.data[0].type == "user.message", f"echo {sent.data!r}")
        idle = until_idle(stream, seen, turn)
    check(idle.stop_reason.type == "end_turn", f"stop reason {idle.stop_reason.type}")
    check(sent.data[0].id in seen, "the stream carried the echo of the sent message")
    check(agent_text(turn) == GREETING, f"agent said {agent_text(turn)!r}")
    types = [e.type for e in turn]
    check("session.status_running" in types and types.index("session.status_running") < types.index("agent.message"), f"order {types}")

    step("reconnect and tail, with a custom tool round trip")
    # As the guide says: open the stream, list the history to dedupe by id, then tail.
    with client.beta.sessions.events.stream(session.id) as stream:
        history = [e.id for e in client.beta.sessions.events.list(session.id)]
        check(set(history) == seen, "history is what the first stream carried")
        tail: list[Any] = []
        client.beta.sessions.events.send(session.id, events=[user_message("What is the weather in Oslo?")])
        idle = until_idle(stream, seen, tail)
        uses = [e for e in tail if e.type == "agent.custom_tool_use"]
        check(len(uses) == 1 and uses[0].name == "get_weather" and uses[0].input == {"city": "Oslo"}, f"tool uses {uses!r}")
        check(idle.stop_reason.type == "requires_action" and idle.stop_reason.event_ids == [uses[0].id], f"idle {idle.to_json()}")
        client.beta.sessions.events.send(
            session.id,
            events=[{"type": "user.custom_tool_result", "custom_tool_use_id": uses[0].id, "content": [{"type": "text", "text": TOOL_RESULT}]}],
        )
        answer: list[Any] = []
        idle = until_idle(stream, seen, answer)
    check(idle.stop_reason.type == "end_turn", f"stop reason {idle.stop_reason.type}")
    check(agent_text(answer) == f"The tool said: {TOOL_RESULT}", f"agent said {agent_text(answer)!r}")
    full = [e.id for e in client.beta.sessions.events.list(session.id)]
    check(len(full) == len(set(full)) and set(full) == seen, "history equals the events streamed, each once")

    step("pagination with limit=2")
    paged = [e.id for e in client.beta.sessions.events.list(session.id, limit=2)]
    check(paged == full, f"{len(paged)} events paged by 2, {len(full)} in one page")
    first = client.beta.sessions.events.list(session.id, limit=2)
    check(len(first.data) == 2 and first.has_next_page(), "a first page of two with a next page")
    for i in range(3):
        client.beta.environments.create(name=f"py-page-{run}-{i}")
    all_envs = [e.id for e in client.beta.environments.list(limit=100)]
    check(len(all_envs) >= 4 and not client.beta.environments.list(limit=100).has_next_page(), f"{len(all_envs)} environments in one page")
    pages = list(client.beta.environments.list(limit=2).iter_pages())
    check(all(len(p.data) <= 2 for p in pages) and len(pages) >= 2, f"page sizes {[len(p.data) for p in pages]}")
    check([e.id for p in pages for e in p.data] == all_envs, "environments paged by 2 equal the full list")
    all_agents = [a.id for a in client.beta.agents.list(limit=100)]
    check([a.id for a in client.beta.agents.list(limit=2)] == all_agents, "agents paged by 2 equal the full list")

    step("files up and down")
    content = f"notes from the python flow {run}\n".encode() * 100
    uploaded = client.beta.files.upload(file=(f"notes-{run}.txt", content, "text/plain"))
    check(uploaded.id.startswith("file_") and uploaded.size_bytes == len(content) and uploaded.filename == f"notes-{run}.txt", uploaded.to_json())
    check(client.beta.files.retrieve_metadata(uploaded.id).size_bytes == len(content), "metadata size")
    check(uploaded.id in [f.id for f in client.beta.files.list()], "file listed")
    check(client.beta.files.download(uploaded.id).read() == content, "downloaded bytes differ")

    step("resources")
    repo_session = client.beta.sessions.create(
        agent=agent.id,
        environment_id=environment.id,
        resources=[{"type": "github_repository", "url": "https://github.com/acme/widgets", "authorization_token": f"ghp_flow_{run}", "mount_path": "/workspace/widgets"}],
    )
    repo = repo_session.resources[0]
    check(repo.type == "github_repository" and repo.mount_path == "/workspace/widgets", repo.to_json())
    rotated = client.beta.sessions.resources.update(repo.id, session_id=repo_session.id, authorization_token=f"ghp_rotated_{run}")
    check(rotated.id == repo.id and "ghp_" not in rotated.to_json(), "the rotated token is never echoed")
    added = client.beta.sessions.resources.add(repo_session.id, type="file", file_id=uploaded.id, mount_path="/workspace/notes.txt")
    check(added.type == "file" and added.file_id == uploaded.id and added.mount_path == "/workspace/notes.txt", added.to_json())
    listed = {r.id: r.type for r in client.beta.sessions.resources.list(repo_session.id)}
    check(listed == {repo.id: "github_repository", added.id: "file"}, f"resources {listed}")
    check(client.beta.sessions.resources.retrieve(added.id, session_id=repo_session.id).file_id == uploaded.id, "retrieve the file resource")
    deleted = client.beta.sessions.resources.delete(added.id, session_id=repo_session.id)
    check(deleted.id == added.id, deleted.to_json())
    client.beta.sessions.resources.delete(repo.id, session_id=repo_session.id)
    check(list(client.beta.sessions.resources.list(repo_session.id)) == [], "no resources left")
    expect_error(anthropic.NotFoundError, 404, lambda: client.beta.sessions.resources.retrieve(added.id, session_id=repo_session.id))

    step("vaults and credentials")
    vault = client.beta.vaults.create(display_name="Alice", metadata={"external_user_id": f"usr_{run}"})
    check(vault.id.startswith("vlt_") and vault.metadata == {"external_user_id": f"usr_{run}"}, vault.to_json())
    credential = client.beta.vaults.credentials.create(
        vault.id,
        display_name="Alice's MCP",
        auth={"type": "static_bearer", "token": f"secret-{run}", "mcp_server_url": "https://mcp.example.com/mcp"},
    )
    check(credential.id.startswith("vcrd_") and f"secret-{run}" not in credential.to_json(), "the token is never echoed")
    renamed = client.beta.vaults.credentials.update(
        credential.id, vault_id=vault.id, display_name="Alice's MCP (rotated)", auth={"type": "static_bearer", "token": f"rotated-{run}"}
    )
    check(renamed.display_name == "Alice's MCP (rotated)" and f"rotated-{run}" not in renamed.to_json(), renamed.to_json())
    check([c.id for c in client.beta.vaults.credentials.list(vault.id)] == [credential.id], "credential listed")
    archived_credential = client.beta.vaults.credentials.archive(credential.id, vault_id=vault.id)
    check(archived_credential.archived_at is not None, "credential archived_at")
    check(list(client.beta.vaults.credentials.list(vault.id)) == [], "an archived credential is not listed by default")
    updated_vault = client.beta.vaults.update(vault.id, display_name="Alice B.", metadata={"external_user_id": None})
    check(updated_vault.display_name == "Alice B." and updated_vault.metadata == {}, updated_vault.to_json())
    check(client.beta.vaults.archive(vault.id).archived_at is not None, "vault archived_at")
    check(vault.id not in [v.id for v in client.beta.vaults.list()], "an archived vault is not listed by default")
    check(vault.id in [v.id for v in client.beta.vaults.list(include_archived=True)], "listed with include_archived")

    step("errors: 400, 401, 404")
    expect_error(
        anthropic.BadRequestError,
        400,
        lambda: client.beta.agents.create(name="bad", model="claude-opus-4-7", tools=[{**WEATHER_TOOL, "name": "has space"}]),
    )
    expect_error(anthropic.NotFoundError, 404, lambda: client.beta.agents.retrieve("agent_01doesnotexist"))
    stranger = anthropic.Anthropic(api_key="sk-not-a-paddock-key", max_retries=0, _strict_response_validation=True)
    err = expect_error(anthropic.AuthenticationError, 401, lambda: stranger.beta.agents.list())
    check(err.type == "authentication_error", f"error type {err.type}")

    step("archive and delete")
    check(client.beta.agents.archive(agent.id).archived_at is not None, "agent archived_at")
    check(client.beta.environments.archive(environment.id).archived_at is not None, "environment archived_at")
    check(client.beta.sessions.delete(session.id).type == "session_deleted", "session deleted")
    check(client.beta.sessions.delete(repo_session.id).type == "session_deleted", "session deleted")
    expect_error(anthropic.NotFoundError, 404, lambda: client.beta.sessions.retrieve(session.id))
    check(client.beta.files.delete(uploaded.id).type == "file_deleted", "file deleted")
    check(client.beta.environments.delete(environment.id).type == "environment_deleted", "environment deleted")

    print("python seed flow: ok")


if __name__ == "__main__":
    try:
        main()
    except Exception as err:  # one line saying which step failed and how, then the trace
        print(f"FAIL {current_step}: {type(err).__name__}: {err}", file=sys.stderr)
        raise
