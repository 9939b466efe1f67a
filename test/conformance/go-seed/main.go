// Command go-seed runs the flows of the seed document (the Go SDK usage guide) against the
// server named by ANTHROPIC_BASE_URL with the official Go SDK, and exits non-zero on the first
// step that does not behave as the guide says. test/conformance/seed-flow-go.test.ts drives it.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

func check(step string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", step, err)
		os.Exit(1)
	}
}

func expect(step string, ok bool, format string, args ...any) {
	if !ok {
		fmt.Fprintf(os.Stderr, "FAIL %s: "+format+"\n", append([]any{step}, args...)...)
		os.Exit(1)
	}
}

func userMessage(text string) anthropic.BetaSessionEventSendParams {
	return anthropic.BetaSessionEventSendParams{
		Events: []anthropic.BetaManagedAgentsEventParamsUnion{{
			OfUserMessage: &anthropic.BetaManagedAgentsUserMessageEventParams{
				Type: anthropic.BetaManagedAgentsUserMessageEventParamsTypeUserMessage,
				Content: []anthropic.BetaManagedAgentsUserMessageEventParamsContentUnion{{
					OfText: &anthropic.BetaManagedAgentsTextBlockParam{Type: anthropic.BetaManagedAgentsTextBlockTypeText, Text: text},
				}},
			},
		}},
	}
}

func main() {
	// ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY come from the environment, as in the guide.
	client := anthropic.NewClient(option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	environment, err := client.Beta.Environments.New(ctx, anthropic.BetaEnvironmentNewParams{
		Name: "my-dev-env",
		Config: anthropic.BetaEnvironmentNewParamsConfigUnion{OfCloud: &anthropic.BetaCloudConfigParams{
			Networking: anthropic.BetaCloudConfigParamsNetworkingUnion{OfUnrestricted: &anthropic.BetaUnrestrictedNetworkParam{}},
		}},
	})
	check("create environment", err)

	agent, err := client.Beta.Agents.New(ctx, anthropic.BetaAgentNewParams{
		Name:   "Coding Assistant",
		Model:  anthropic.BetaManagedAgentsModelConfigParams{ID: "claude-opus-4-7"},
		System: anthropic.String("You are a helpful coding assistant."),
		Tools: []anthropic.BetaAgentNewParamsToolUnion{{
			OfAgentToolset20260401: &anthropic.BetaManagedAgentsAgentToolset20260401Params{
				Type: anthropic.BetaManagedAgentsAgentToolset20260401ParamsTypeAgentToolset20260401,
			},
		}},
	})
	check("create agent", err)
	expect("create agent", agent.Version == 1 && len(agent.Tools) == 1, "version %d, %d tools", agent.Version, len(agent.Tools))

	session, err := client.Beta.Sessions.New(ctx, anthropic.BetaSessionNewParams{
		Agent: anthropic.BetaSessionNewParamsAgentUnion{OfBetaManagedAgentsAgents: &anthropic.BetaManagedAgentsAgentParams{
			Type: anthropic.BetaManagedAgentsAgentParamsTypeAgent, ID: agent.ID, Version: anthropic.Int(agent.Version),
		}},
		EnvironmentID: environment.ID,
		Title:         anthropic.String("Quickstart session"),
	})
	check("create session", err)
	expect("create session", string(session.Status) == "idle", "status %q", session.Status)

	updated, err := client.Beta.Agents.Update(ctx, agent.ID, anthropic.BetaAgentUpdateParams{
		Version: anthropic.Int(agent.Version),
		System:  anthropic.String("You are a helpful coding agent. Always write tests."),
	})
	check("update agent", err)
	expect("update agent", updated.Version == 2, "version %d", updated.Version)

	var versions []int64
	iter := client.Beta.Agents.Versions.ListAutoPaging(ctx, agent.ID, anthropic.BetaAgentVersionListParams{})
	for iter.Next() {
		versions = append(versions, iter.Current().Version)
	}
	check("list versions", iter.Err())
	expect("list versions", len(versions) == 2 && versions[0] == 2 && versions[1] == 1, "versions %v", versions)

	// Stream first, then send; the echo of the sent message arrives on the stream.
	stream := client.Beta.Sessions.Events.StreamEvents(ctx, session.ID, anthropic.BetaSessionEventStreamParams{})
	sent, err := client.Beta.Sessions.Events.Send(ctx, session.ID, userMessage("Summarize the repo README"))
	check("send", err)
	expect("send", len(sent.Data) == 1, "%d echoes", len(sent.Data))
	sentID := sent.Data[0].ID
	echoed := false
	for !echoed && stream.Next() {
		ev := stream.Current()
		echoed = ev.Type == "user.message" && ev.ID == sentID
	}
	check("stream", stream.Err())
	expect("stream", echoed, "the stream ended without the echo of %s", sentID)
	stream.Close()

	seen := map[string]bool{}
	history := client.Beta.Sessions.Events.ListAutoPaging(ctx, session.ID, anthropic.BetaSessionEventListParams{})
	for history.Next() {
		seen[history.Current().ID] = true
	}
	check("list events", history.Err())
	expect("list events", seen[sentID], "history lacks %s", sentID)

	envs, err := client.Beta.Environments.List(ctx, anthropic.BetaEnvironmentListParams{})
	check("list environments", err)
	expect("list environments", len(envs.Data) >= 1, "no environments")
	env, err := client.Beta.Environments.Get(ctx, environment.ID, anthropic.BetaEnvironmentGetParams{})
	check("get environment", err)
	expect("get environment", env.Name == "my-dev-env", "name %q", env.Name)

	archived, err := client.Beta.Agents.Archive(ctx, agent.ID, anthropic.BetaAgentArchiveParams{})
	check("archive agent", err)
	expect("archive agent", !archived.ArchivedAt.IsZero(), "archived_at unset")

	_, err = client.Beta.Environments.Archive(ctx, environment.ID, anthropic.BetaEnvironmentArchiveParams{})
	check("archive environment", err)

	_, err = client.Beta.Sessions.Delete(ctx, session.ID, anthropic.BetaSessionDeleteParams{})
	check("delete session", err)
	_, err = client.Beta.Environments.Delete(ctx, environment.ID, anthropic.BetaEnvironmentDeleteParams{})
	check("delete environment", err)

	_, err = client.Beta.Sessions.Get(ctx, session.ID, anthropic.BetaSessionGetParams{})
	var apiErr *anthropic.Error
	expect("get deleted session", err != nil, "no error")
	if e, ok := err.(*anthropic.Error); ok {
		apiErr = e
	}
	expect("get deleted session", apiErr != nil && apiErr.StatusCode == 404, "got %v", err)

	fmt.Println("go seed flow: ok")
}
