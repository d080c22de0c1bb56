using System.Globalization;
using System.Text.Json;
using TransportBench.Cli;
using TransportBench.Servers;

namespace TransportBench.Fairness;

/// <summary>Runs the fairness clients in a child process pinned to the load CPUs, and reads their result.</summary>
internal static class FairnessLauncher
{
    /// <summary>The small connection's endpoint: 13 bytes of `/plaintext`, the tiniest response SampleWeb has.</summary>
    public const string SmallPath = "/plaintext";

    public static async Task<FairnessResult> RunAsync(
        int port, Scenario scenario, TimeSpan duration, CoreLayout cores, CancellationToken cancellationToken)
    {
        (string self, List<string> selfArgs) = DotnetHost.Self();
        selfArgs.AddRange(
        [
            FairnessChild.Flag,
            port.ToString(CultureInfo.InvariantCulture),
            scenario.Path,
            SmallPath,
            duration.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        ]);
        (string file, List<string> args) = CoreLayout.Pin(cores.LoadCpus, self, selfArgs);
        // The child bounds each of its waits; this catches a wedged child.
        ToolResult run = await ToolRun.RunAsync(file, args, duration + TimeSpan.FromSeconds(40), cancellationToken);
        string? line = run.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith(FairnessResult.Prefix, StringComparison.Ordinal));
        return (line is null ? null : JsonSerializer.Deserialize<FairnessResult>(line[FairnessResult.Prefix.Length..]))
            ?? throw new InvalidOperationException($"the fairness client failed (exit {run.ExitCode}{(run.TimedOut ? ", timed out" : "")}):\n{run.Tail()}");
    }
}
