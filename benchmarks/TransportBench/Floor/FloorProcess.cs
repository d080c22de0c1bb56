using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TransportBench.Cli;
using TransportBench.Results;
using TransportBench.Servers;

namespace TransportBench.Floor;

/// <summary>
/// The floor child (<see cref="FloorChild"/>), pinned to the server CPUs with the servers' environment, kept for a round
/// as a server is: each <see cref="MeasureAsync"/> sends it one scenario and reads its result. Disposing ends it.
/// </summary>
internal sealed class FloorProcess : IDisposable
{
    private static readonly JsonSerializerOptions Json = new();

    private readonly Process _process;

    // Its standard error, for error messages.
    private readonly LastLines _errors = new(20);

    private FloorProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) => _errors.Add(e.Data);
        _process.BeginErrorReadLine();
    }

    public bool HasExited => _process.HasExited;

    public static FloorProcess Start(ServerSpec spec, CoreLayout cores, string sampleDirectory)
    {
        (string self, List<string> selfArgs) = DotnetHost.Self();
        (string file, List<string> args) = CoreLayout.Pin(cores.ServerCpus, self, [.. selfArgs, FloorChild.Flag, sampleDirectory]);
        ProcessStartInfo startInfo = ChildProcesses.StartInfo(file, args, spec.Environment);
        startInfo.RedirectStandardInput = true;
        return new FloorProcess(ChildProcesses.Start(startInfo));
    }

    /// <summary>Has the child warm up and measure <paramref name="scenario"/>.</summary>
    /// <param name="newProcess">Whether the child was started for this scenario (for the report).</param>
    /// <exception cref="InvalidOperationException">The child failed or took too long; the message holds its output.</exception>
    public async Task<RoundSample> MeasureAsync(
        Scenario scenario, int round, bool newProcess, TimeSpan least, TimeSpan limit, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(limit + duration + TimeSpan.FromSeconds(60));
        FloorResult? result = null;
        try
        {
            await _process.StandardInput.WriteLineAsync(string.Join(' ', scenario.Name, Seconds(least), Seconds(limit), Seconds(duration)));
            await _process.StandardInput.FlushAsync(cancellationToken);
            while (result is null && await _process.StandardOutput.ReadLineAsync(bound.Token) is string line)
            {
                result = line.StartsWith(FloorResult.Prefix, StringComparison.Ordinal)
                    ? JsonSerializer.Deserialize<FloorResult>(line[FloorResult.Prefix.Length..], Json)
                    : null;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Past its bound: a failure, reported below.
        }
        catch (IOException)
        {
            // Its input closed: it ended since the last scenario. Reported below.
        }
        if (result is null)
        {
            // Ended, or wedged: killed either way, so the next scenario starts a new child.
            string how = HasExited ? "ended" : "did not answer in time";
            ChildProcesses.Kill(_process);
            throw new InvalidOperationException($"the floor child {how}:\n{_errors}");
        }
        return new RoundSample
        {
            Scenario = scenario.Name,
            Server = ServerSpec.FloorName,
            Round = round,
            NewProcess = newProcess,
            Identity = new ServerIdentity("in-memory pipes (no sockets)", result.ProcessorCount, result.ServerGc ? "server" : "workstation"),
            Requests = result.Requests,
            RequestsPerSecond = result.Requests / result.Seconds,
            CpuMicrosPerRequest = result.KestrelCpuMicrosPerRequest,
            ClientCpuMicrosPerRequest = result.ClientCpuMicrosPerRequest,
            AllocatedBytesPerRequest = result.AllocatedBytesPerRequest,
            PeakRssKib = result.PeakRssKib,
            WarmupSeconds = result.WarmupSeconds,
            WarmupJitSteps = result.WarmupJitSteps,
            JitSettled = result.JitSettled,
            SyscallsUnavailable = "no sockets: nothing to count",
            Error = result.Error,
        };
    }

    public void Dispose()
    {
        ChildProcesses.Kill(_process);
        _process.Dispose();
    }

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString(CultureInfo.InvariantCulture);
}
