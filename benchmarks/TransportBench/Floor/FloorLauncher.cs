using System.Globalization;
using System.Text.Json;
using TransportBench.Cli;
using TransportBench.Results;
using TransportBench.Servers;

namespace TransportBench.Floor;

/// <summary>Runs the floor child pinned to the server CPUs with the servers' environment, and reads its result.</summary>
internal static class FloorLauncher
{
    private static readonly JsonSerializerOptions Json = new();

    public static async Task FillAsync(
        RoundSample sample, Scenario scenario, ServerSpec spec, BenchOptions options, CoreLayout cores, string sampleDirectory,
        CancellationToken cancellationToken)
    {
        (string self, List<string> selfArgs) = DotnetHost.Self();
        selfArgs.AddRange(
        [
            FloorChild.Flag,
            scenario.Name,
            options.Warmup.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            options.DurationOf(scenario).TotalSeconds.ToString(CultureInfo.InvariantCulture),
            sampleDirectory,
        ]);
        (string file, List<string> args) = CoreLayout.Pin(cores.ServerCpus, self, selfArgs);
        TimeSpan limit = options.Warmup + options.DurationOf(scenario) + TimeSpan.FromSeconds(60);
        ToolResult run = await ToolRun.RunAsync(file, args, limit, cancellationToken, environment: spec.Environment);
        string? line = run.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith(FloorResult.Prefix, StringComparison.Ordinal));
        FloorResult? result = line is null ? null : JsonSerializer.Deserialize<FloorResult>(line[FloorResult.Prefix.Length..], Json);
        if (result is null)
        {
            throw new InvalidOperationException($"the floor child failed (exit {run.ExitCode}{(run.TimedOut ? ", timed out" : "")}):\n{run.Tail()}");
        }
        sample.Identity = new ServerIdentity("in-memory pipes (no sockets)", result.ProcessorCount, result.ServerGc ? "server" : "workstation");
        sample.Requests = result.Requests;
        sample.RequestsPerSecond = result.Requests / result.Seconds;
        sample.CpuMicrosPerRequest = result.KestrelCpuMicrosPerRequest;
        sample.ClientCpuMicrosPerRequest = result.ClientCpuMicrosPerRequest;
        sample.AllocatedBytesPerRequest = result.AllocatedBytesPerRequest;
        sample.PeakRssKib = result.PeakRssKib;
        sample.SyscallsUnavailable = "no sockets: nothing to count";
        sample.Error = result.Error;
    }
}
