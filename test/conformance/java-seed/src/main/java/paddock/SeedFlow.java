package paddock;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.MultipartField;
import com.anthropic.core.http.HttpResponse;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.AnthropicServiceException;
import com.anthropic.errors.BadRequestException;
import com.anthropic.errors.ConflictException;
import com.anthropic.errors.NotFoundException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.models.beta.agents.AgentCreateParams;
import com.anthropic.models.beta.agents.AgentListParams;
import com.anthropic.models.beta.agents.AgentRetrieveParams;
import com.anthropic.models.beta.agents.AgentUpdateParams;
import com.anthropic.models.beta.agents.BetaManagedAgentsAgent;
import com.anthropic.models.beta.agents.BetaManagedAgentsAgentToolset20260401Params;
import com.anthropic.models.beta.agents.BetaManagedAgentsCustomToolInputSchema;
import com.anthropic.models.beta.agents.BetaManagedAgentsCustomToolParams;
import com.anthropic.models.beta.agents.BetaManagedAgentsModel;
import com.anthropic.models.beta.environments.BetaCloudConfigParams;
import com.anthropic.models.beta.environments.BetaEnvironment;
import com.anthropic.models.beta.environments.BetaUnrestrictedNetwork;
import com.anthropic.models.beta.environments.EnvironmentCreateParams;
import com.anthropic.models.beta.environments.EnvironmentListPage;
import com.anthropic.models.beta.environments.EnvironmentListParams;
import com.anthropic.models.beta.files.BetaFileMetadata;
import com.anthropic.models.beta.files.FileUploadParams;
import com.anthropic.models.beta.sessions.BetaManagedAgentsAgentParams;
import com.anthropic.models.beta.sessions.BetaManagedAgentsGitHubRepositoryResourceParams;
import com.anthropic.models.beta.sessions.BetaManagedAgentsSession;
import com.anthropic.models.beta.sessions.SessionCreateParams;
import com.anthropic.models.beta.sessions.events.BetaManagedAgentsAgentCustomToolUseEvent;
import com.anthropic.models.beta.sessions.events.BetaManagedAgentsSendSessionEvents;
import com.anthropic.models.beta.sessions.events.BetaManagedAgentsSessionStatusIdleEvent;
import com.anthropic.models.beta.sessions.events.BetaManagedAgentsStreamSessionEvents;
import com.anthropic.models.beta.sessions.events.BetaManagedAgentsUserCustomToolResultEventParams;
import com.anthropic.models.beta.sessions.events.BetaManagedAgentsUserMessageEventParams;
import com.anthropic.models.beta.sessions.events.EventListParams;
import com.anthropic.models.beta.sessions.events.EventSendParams;
import com.anthropic.models.beta.sessions.resources.BetaManagedAgentsFileResource;
import com.anthropic.models.beta.sessions.resources.ResourceAddParams;
import com.anthropic.models.beta.sessions.resources.ResourceDeleteParams;
import com.anthropic.models.beta.sessions.resources.ResourceRetrieveParams;
import com.anthropic.models.beta.sessions.resources.ResourceUpdateParams;
import com.anthropic.models.beta.sessions.resources.ResourceUpdateResponse;
import com.anthropic.models.beta.vaults.BetaManagedAgentsVault;
import com.anthropic.models.beta.vaults.VaultCreateParams;
import com.anthropic.models.beta.vaults.VaultListParams;
import com.anthropic.models.beta.vaults.credentials.BetaManagedAgentsCredential;
import com.anthropic.models.beta.vaults.credentials.BetaManagedAgentsStaticBearerCreateParams;
import com.anthropic.models.beta.vaults.credentials.BetaManagedAgentsStaticBearerUpdateParams;
import com.anthropic.models.beta.vaults.credentials.CredentialArchiveParams;
import com.anthropic.models.beta.vaults.credentials.CredentialCreateParams;
import com.anthropic.models.beta.vaults.credentials.CredentialUpdateParams;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * The seed's flows with the official Java SDK (com.anthropic:anthropic-java), against the Paddock
 * named by ANTHROPIC_BASE_URL (key in ANTHROPIC_API_KEY), exiting non-zero at the first step that
 * does not behave as the guide says. Every response is checked by the SDK's response validation.
 * The model behind Paddock is scripted (test/support/sdk-flow.ts): a question about the weather
 * gets a call of the custom tool get_weather, whose result is quoted back; anything else gets
 * GREETING. test/conformance/seed-flow-java.test.ts drives it.
 */
public final class SeedFlow {
  static final String GREETING = "Hello from the scripted model, in a few chunks.";
  static final String TOOL_RESULT = "sunny, 21C";
  static String step = "start";

  public static void main(String[] args) {
    try {
      run();
    } catch (Throwable err) {
      System.err.println("FAIL " + step + ": " + err);
      err.printStackTrace();
      System.exit(1);
    }
    System.out.println("java seed flow: ok");
    // OkHttp's pools keep non-daemon threads for a while; the flow is over.
    System.exit(0);
  }

  static void check(boolean ok, String what) {
    if (!ok) throw new AssertionError(what);
  }

  interface Call {
    Object run();
  }

  /** The call fails with the SDK's exception class for `status`, carrying the API's error envelope. */
  static <E extends AnthropicServiceException> E expectError(Class<E> cls, int status, Call call) {
    try {
      call.run();
    } catch (AnthropicServiceException err) {
      check(cls.isInstance(err), "expected " + cls.getSimpleName() + ", got " + err.getClass().getSimpleName() + ": " + err.getMessage());
      check(err.statusCode() == status, cls.getSimpleName() + " with status " + err.statusCode());
      check(err.type().isPresent() && err.apiMessage().isPresent(), "error envelope " + err.body());
      return cls.cast(err);
    }
    throw new AssertionError("expected " + cls.getSimpleName());
  }

  static EventSendParams userMessage(String text) {
    return EventSendParams.builder()
        .addEvent(
            BetaManagedAgentsUserMessageEventParams.builder()
                .addTextContent(text)
                .build())
        .build();
  }

  static String agentText(List<BetaManagedAgentsStreamSessionEvents> events) {
    StringBuilder out = new StringBuilder();
    for (BetaManagedAgentsStreamSessionEvents e : events) {
      if (!e.isAgentMessage()) continue;
      for (var block : e.asAgentMessage().content()) block.text().ifPresent(t -> out.append(t.text()));
    }
    return out.toString();
  }

  /** Reads the stream up to the next idle, skipping events already seen (by id). */
  static BetaManagedAgentsSessionStatusIdleEvent untilIdle(
      Iterator<BetaManagedAgentsStreamSessionEvents> stream, Set<String> seen, List<BetaManagedAgentsStreamSessionEvents> out) {
    while (stream.hasNext()) {
      BetaManagedAgentsStreamSessionEvents event = stream.next();
      check(!event.isSessionError(), "session.error on the stream: " + event);
      String id = event.id().orElseThrow(() -> new AssertionError("an event without id: " + event));
      if (!seen.add(id)) continue;
      out.add(event);
      if (event.isSessionStatusIdle()) return event.asSessionStatusIdle();
    }
    throw new AssertionError("the stream ended before the session went idle");
  }

  static List<String> eventIds(AnthropicClient client, String sessionId, EventListParams params) {
    return client.beta().sessions().events().list(sessionId, params).autoPager().stream()
        .map(e -> e.id())
        .collect(Collectors.toList());
  }

  static void run() throws Exception {
    // ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY come from the environment, as in the guide.
    AnthropicClient client =
        AnthropicOkHttpClient.builder().fromEnv().responseValidation(true).maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    String run = UUID.randomUUID().toString().substring(0, 8);

    step = "environments";
    BetaEnvironment environment =
        client.beta().environments().create(
            EnvironmentCreateParams.builder()
                .name("java-env-" + run)
                .config(BetaCloudConfigParams.builder().networking(BetaUnrestrictedNetwork.builder().build()).build())
                .build());
    check(environment.id().startsWith("env_"), environment.id());
    check(client.beta().environments().retrieve(environment.id()).name().equals("java-env-" + run), "retrieved name");

    step = "agents with versions";
    BetaManagedAgentsCustomToolParams weather =
        BetaManagedAgentsCustomToolParams.builder()
            .name("get_weather")
            .description("Weather for a city")
            .inputSchema(
                BetaManagedAgentsCustomToolInputSchema.builder()
                    .properties(
                        BetaManagedAgentsCustomToolInputSchema.Properties.builder()
                            .putAdditionalProperty("city", JsonValue.from(Map.of("type", "string")))
                            .build())
                    .addRequired("city")
                    .build())
            .build();
    BetaManagedAgentsAgent agent =
        client.beta().agents().create(
            AgentCreateParams.builder()
                .name("Coding Assistant")
                .model(BetaManagedAgentsModel.CLAUDE_OPUS_4_7)
                .system("You are a helpful coding assistant.")
                .addTool(
                    BetaManagedAgentsAgentToolset20260401Params.builder()
                        .build())
                .addTool(weather)
                .build());
    check(agent.version() == 1 && agent.tools().size() == 2, "version " + agent.version() + ", " + agent.tools().size() + " tools");
    BetaManagedAgentsAgent updated =
        client.beta().agents().update(
            agent.id(),
            AgentUpdateParams.builder().version(agent.version()).system("You are a helpful coding agent. Always write tests.").build());
    check(updated.version() == 2, "version " + updated.version());
    // The version guard: an update against a version that is no longer current is refused.
    expectError(
        ConflictException.class,
        409,
        () -> client.beta().agents().update(agent.id(), AgentUpdateParams.builder().version(1).system("stale").build()));
    List<Integer> versions =
        client.beta().agents().versions().list(agent.id()).autoPager().stream().map(v -> v.version()).collect(Collectors.toList());
    check(versions.equals(List.of(2, 1)), "versions " + versions);
    check(
        client.beta().agents().retrieve(agent.id(), AgentRetrieveParams.builder().version(1).build()).system().orElse("")
            .equals("You are a helpful coding assistant."),
        "version 1 kept its system prompt");

    step = "sessions";
    BetaManagedAgentsSession session =
        client.beta().sessions().create(
            SessionCreateParams.builder()
                .agent(
                    BetaManagedAgentsAgentParams.builder()
                        .id(agent.id())
                        .version(updated.version())
                        .build())
                .environmentId(environment.id())
                .title("Quickstart session")
                .build());
    check(session.status().asString().equals("idle") && session.agent().version() == 2, "status " + session.status());
    check(client.beta().sessions().list().autoPager().stream().anyMatch(s -> s.id().equals(session.id())), "session listed");

    step = "a streamed turn";
    Set<String> seen = new LinkedHashSet<>();
    List<BetaManagedAgentsStreamSessionEvents> turn = new ArrayList<>();
    BetaManagedAgentsSendSessionEvents sent;
    BetaManagedAgentsSessionStatusIdleEvent idle;
    try (StreamResponse<BetaManagedAgentsStreamSessionEvents> stream = client.beta().sessions().events().streamStreaming(session.id())) {
      sent = client.beta().sessions().events().send(session.id(), userMessage("Say hello"));
      check(sent.data().orElseThrow().size() == 1, "one echo");
      idle = untilIdle(stream.stream().iterator(), seen, turn);
    }
    check(idle.stopReason().isEndTurn(), "stop reason " + idle.stopReason());
    check(seen.contains(sent.data().orElseThrow().get(0).id()), "the stream carried the echo of the sent message");
    check(agentText(turn).equals(GREETING), "agent said " + agentText(turn));

    step = "reconnect and tail, with a custom tool round trip";
    List<BetaManagedAgentsStreamSessionEvents> answer = new ArrayList<>();
    try (StreamResponse<BetaManagedAgentsStreamSessionEvents> stream = client.beta().sessions().events().streamStreaming(session.id())) {
      // As the guide says: open the stream, list the history to dedupe by id, then tail.
      Set<String> history = new HashSet<>(eventIds(client, session.id(), EventListParams.none()));
      check(history.equals(seen), "history is what the first stream carried");
      Iterator<BetaManagedAgentsStreamSessionEvents> events = stream.stream().iterator();
      List<BetaManagedAgentsStreamSessionEvents> tail = new ArrayList<>();
      client.beta().sessions().events().send(session.id(), userMessage("What is the weather in Oslo?"));
      idle = untilIdle(events, seen, tail);
      List<BetaManagedAgentsAgentCustomToolUseEvent> uses =
          tail.stream().filter(e -> e.isAgentCustomToolUse()).map(e -> e.asAgentCustomToolUse()).collect(Collectors.toList());
      check(uses.size() == 1 && uses.get(0).name().equals("get_weather"), "tool uses " + uses);
      check(uses.get(0).input()._additionalProperties().equals(Map.of("city", JsonValue.from("Oslo"))), "tool input " + uses.get(0).input());
      check(
          idle.stopReason().isRequiresAction() && idle.stopReason().asRequiresAction().eventIds().equals(List.of(uses.get(0).id())),
          "idle " + idle);
      client.beta().sessions().events().send(
          session.id(),
          EventSendParams.builder()
              .addEvent(
                  BetaManagedAgentsUserCustomToolResultEventParams.builder()
                      .customToolUseId(uses.get(0).id())
                      .addTextContent(TOOL_RESULT)
                      .build())
              .build());
      idle = untilIdle(events, seen, answer);
    }
    check(idle.stopReason().isEndTurn(), "stop reason " + idle.stopReason());
    check(agentText(answer).equals("The tool said: " + TOOL_RESULT), "agent said " + agentText(answer));
    List<String> full = eventIds(client, session.id(), EventListParams.none());
    check(full.size() == new HashSet<>(full).size() && new HashSet<>(full).equals(seen), "history equals the events streamed, each once");

    step = "pagination with limit=2";
    List<String> paged = eventIds(client, session.id(), EventListParams.builder().limit(2).build());
    check(paged.equals(full), paged.size() + " events paged by 2, " + full.size() + " in one page");
    for (int i = 0; i < 3; i++) client.beta().environments().create(EnvironmentCreateParams.builder().name("java-page-" + run + "-" + i).build());
    EnvironmentListPage one = client.beta().environments().list(EnvironmentListParams.builder().limit(100).build());
    check(!one.hasNextPage() && one.data().size() >= 4, one.data().size() + " environments in one page");
    List<String> allEnvs = one.data().stream().map(BetaEnvironment::id).collect(Collectors.toList());
    List<String> pagedEnvs = new ArrayList<>();
    int pages = 0;
    for (EnvironmentListPage page = client.beta().environments().list(EnvironmentListParams.builder().limit(2).build()); ; page = page.nextPage()) {
      pages++;
      check(page.data().size() <= 2, "a page of " + page.data().size());
      page.data().forEach(e -> pagedEnvs.add(e.id()));
      if (!page.hasNextPage()) break;
    }
    check(pages >= 2 && pagedEnvs.equals(allEnvs), "environments paged by 2 equal the full list");
    List<String> allAgents =
        client.beta().agents().list(AgentListParams.builder().limit(100).build()).data().stream().map(a -> a.id()).collect(Collectors.toList());
    List<String> pagedAgents =
        client.beta().agents().list(AgentListParams.builder().limit(2).build()).autoPager().stream().map(a -> a.id()).collect(Collectors.toList());
    check(pagedAgents.equals(allAgents), "agents paged by 2 equal the full list");

    step = "files up and down";
    byte[] content = ("notes from the java flow " + run + "\n").repeat(100).getBytes(StandardCharsets.UTF_8);
    BetaFileMetadata uploaded =
        client.beta().files().upload(
            FileUploadParams.builder()
                .file(
                    MultipartField.<InputStream>builder()
                        .value(new ByteArrayInputStream(content))
                        .filename("notes-" + run + ".txt")
                        .contentType("text/plain")
                        .build())
                .build());
    check(uploaded.id().startsWith("file_") && uploaded.sizeBytes() == content.length && uploaded.filename().equals("notes-" + run + ".txt"), uploaded.toString());
    check(client.beta().files().retrieveMetadata(uploaded.id()).sizeBytes() == content.length, "metadata size");
    check(client.beta().files().list().autoPager().stream().anyMatch(f -> f.id().equals(uploaded.id())), "file listed");
    try (HttpResponse download = client.beta().files().download(uploaded.id()); InputStream body = download.body()) {
      check(Arrays.equals(body.readAllBytes(), content), "downloaded bytes differ");
    }

    step = "resources";
    BetaManagedAgentsSession repoSession =
        client.beta().sessions().create(
            SessionCreateParams.builder()
                .agent(agent.id())
                .environmentId(environment.id())
                .addResource(
                    BetaManagedAgentsGitHubRepositoryResourceParams.builder()
                        .url("https://github.com/acme/widgets")
                        .authorizationToken("ghp_flow_" + run)
                        .mountPath("/workspace/widgets")
                        .build())
                .build());
    var repo = repoSession.resources().get(0);
    check(repo.isGitHubRepository() && repo.asGitHubRepository().mountPath().equals("/workspace/widgets"), repo.toString());
    String repoId = repo.asGitHubRepository().id();
    ResourceUpdateResponse rotated =
        client.beta().sessions().resources().update(
            repoId, ResourceUpdateParams.builder().sessionId(repoSession.id()).authorizationToken("ghp_rotated_" + run).build());
    check(rotated.isGitHubRepository() && !rotated.toString().contains("ghp_"), "the rotated token is never echoed");
    BetaManagedAgentsFileResource added =
        client.beta().sessions().resources().add(
            repoSession.id(),
            ResourceAddParams.builder()
                .betaManagedAgentsFileResourceParams(
                    com.anthropic.models.beta.sessions.BetaManagedAgentsFileResourceParams.builder()
                        .fileId(uploaded.id())
                        .mountPath("/workspace/notes.txt")
                        .build())
                .build());
    check(added.fileId().equals(uploaded.id()) && added.mountPath().equals("/workspace/notes.txt"), added.toString());
    Map<String, String> listed = new HashMap<>();
    client.beta().sessions().resources().list(repoSession.id()).autoPager().stream()
        .forEach(r -> listed.put(r.isFile() ? r.asFile().id() : r.asGitHubRepository().id(), r.isFile() ? "file" : "github_repository"));
    check(listed.equals(Map.of(repoId, "github_repository", added.id(), "file")), "resources " + listed);
    check(
        client.beta().sessions().resources().retrieve(added.id(), ResourceRetrieveParams.builder().sessionId(repoSession.id()).build())
            .asFile().fileId().equals(uploaded.id()),
        "retrieve the file resource");
    check(
        client.beta().sessions().resources().delete(added.id(), ResourceDeleteParams.builder().sessionId(repoSession.id()).build()).id()
            .equals(added.id()),
        "deleted");
    client.beta().sessions().resources().delete(repoId, ResourceDeleteParams.builder().sessionId(repoSession.id()).build());
    check(client.beta().sessions().resources().list(repoSession.id()).autoPager().stream().count() == 0, "no resources left");
    expectError(
        NotFoundException.class,
        404,
        () -> client.beta().sessions().resources().retrieve(added.id(), ResourceRetrieveParams.builder().sessionId(repoSession.id()).build()));

    step = "vaults and credentials";
    BetaManagedAgentsVault vault =
        client.beta().vaults().create(
            VaultCreateParams.builder()
                .displayName("Alice")
                .metadata(VaultCreateParams.Metadata.builder().putAdditionalProperty("external_user_id", JsonValue.from("usr_" + run)).build())
                .build());
    check(vault.id().startsWith("vlt_"), vault.id());
    BetaManagedAgentsCredential credential =
        client.beta().vaults().credentials().create(
            vault.id(),
            CredentialCreateParams.builder()
                .displayName("Alice's MCP")
                .auth(
                    BetaManagedAgentsStaticBearerCreateParams.builder()
                        .token("secret-" + run)
                        .mcpServerUrl("https://mcp.example.com/mcp")
                        .build())
                .build());
    check(credential.id().startsWith("vcrd_") && !credential.toString().contains("secret-" + run), "the token is never echoed");
    BetaManagedAgentsCredential renamed =
        client.beta().vaults().credentials().update(
            credential.id(),
            CredentialUpdateParams.builder()
                .vaultId(vault.id())
                .displayName("Alice's MCP (rotated)")
                .auth(
                    BetaManagedAgentsStaticBearerUpdateParams.builder()
                        .token("rotated-" + run)
                        .build())
                .build());
    check(renamed.displayName().orElse("").equals("Alice's MCP (rotated)") && !renamed.toString().contains("rotated-" + run), renamed.toString());
    check(
        client.beta().vaults().credentials().list(vault.id()).autoPager().stream().map(c -> c.id()).collect(Collectors.toList())
            .equals(List.of(credential.id())),
        "credential listed");
    check(
        client.beta().vaults().credentials().archive(credential.id(), CredentialArchiveParams.builder().vaultId(vault.id()).build())
            .archivedAt().isPresent(),
        "credential archived_at");
    check(client.beta().vaults().credentials().list(vault.id()).autoPager().stream().count() == 0, "an archived credential is not listed by default");
    check(client.beta().vaults().archive(vault.id()).archivedAt().isPresent(), "vault archived_at");
    check(client.beta().vaults().list().autoPager().stream().noneMatch(v -> v.id().equals(vault.id())), "an archived vault is not listed by default");
    check(
        client.beta().vaults().list(VaultListParams.builder().includeArchived(true).build()).autoPager().stream()
            .anyMatch(v -> v.id().equals(vault.id())),
        "listed with include_archived");

    step = "errors: 400, 401, 404";
    expectError(
        BadRequestException.class,
        400,
        () ->
            client.beta().agents().create(
                AgentCreateParams.builder()
                    .name("bad")
                    .model(BetaManagedAgentsModel.CLAUDE_OPUS_4_7)
                    .addTool(weather.toBuilder().name("has space").build())
                    .build()));
    expectError(NotFoundException.class, 404, () -> client.beta().agents().retrieve("agent_01doesnotexist"));
    AnthropicClient stranger =
        AnthropicOkHttpClient.builder().fromEnv().apiKey("sk-not-a-paddock-key").responseValidation(true).maxRetries(0).build();
    UnauthorizedException unauthorized = expectError(UnauthorizedException.class, 401, () -> stranger.beta().agents().list());
    check(unauthorized.type().orElseThrow().asString().equals("authentication_error"), "error type " + unauthorized.type());

    step = "archive and delete";
    check(client.beta().agents().archive(agent.id()).archivedAt().isPresent(), "agent archived_at");
    check(client.beta().environments().archive(environment.id()).archivedAt().isPresent(), "environment archived_at");
    client.beta().sessions().delete(session.id());
    client.beta().sessions().delete(repoSession.id());
    expectError(NotFoundException.class, 404, () -> client.beta().sessions().retrieve(session.id()));
    client.beta().files().delete(uploaded.id());
    client.beta().environments().delete(environment.id());
  }
}
