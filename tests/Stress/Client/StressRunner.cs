using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Stress.Client;

/// <summary>Runs the stress mix: <see cref="StressRunOptions.Clients"/> workers for <see cref="StressRunOptions.Duration"/>.</summary>
internal sealed class StressRunner(StressRunOptions options, IPEndPoint endPoint)
{
    private readonly StressStats _stats = new();
    private readonly int _seed = options.Seed != 0 ? options.Seed : Random.Shared.Next(1, int.MaxValue);
    private uint _connectionNumber;
    private volatile bool _serverStopping;

    /// <summary>The counters, live while the run goes on.</summary>
    public StressStats Stats => _stats;

    /// <summary>The seed in use (give it back with --seed to replay the same choices).</summary>
    public int Seed => _seed;

    /// <summary>
    /// Says the server is stopping gracefully: exchanges that get no response at all (refused, closed idle) are then
    /// counted as ended by the stop, not as failures. Cut, corrupted, misrouted or hung ones still fail.
    /// </summary>
    public void ServerStopping() => _serverStopping = true;

    /// <summary>Runs until the duration passes (or <paramref name="stop"/> fires) and the exchanges in flight end.</summary>
    public async Task<StressStats> RunAsync(CancellationToken stop = default)
    {
        var seeds = new Random(_seed);
        uint runId = (uint)seeds.Next() | 1;
        using var duration = CancellationTokenSource.CreateLinkedTokenSource(stop);
        duration.CancelAfter(options.Duration);
        var workers = Enumerable.Range(0, options.Clients).Select(_ =>
        {
            var context = new WorkerContext(endPoint, options, _stats, new Random(seeds.Next()),
                () => StressPayload.MakeNonce(runId, Interlocked.Increment(ref _connectionNumber)));
            return Task.Run(() => new StressWorker(context, () => _serverStopping).RunAsync(duration.Token));
        }).ToList();
        // Each worker's last exchange is bounded by its deadline; this bound only guards against a bug in the tool.
        await Task.WhenAll(workers).WaitAsync(options.Duration + options.OperationTimeout + TimeSpan.FromSeconds(30), CancellationToken.None);
        return _stats;
    }

    /// <summary>The summary printed at the end of a run.</summary>
    public string Describe(TimeSpan elapsed) =>
        string.Create(CultureInfo.InvariantCulture,
            $"stress: {options.Clients} clients for {elapsed.TotalSeconds:0.0} s against http://{endPoint}, seed {_seed}: " +
            $"{_stats.TotalSucceeded} exchanges ok, {_stats.TotalFailed} failed, {_stats.TotalEndedByShutdown} ended by a server stop ({_stats.TotalSucceeded / Math.Max(elapsed.TotalSeconds, 0.001):0}/s)\n") +
        _stats.Describe();

    /// <summary>Runs and prints the summary; the exit code is 0 only if exchanges ran and none failed.</summary>
    public async Task<int> RunAndReportAsync(TextWriter output, CancellationToken stop = default)
    {
        var clock = Stopwatch.StartNew();
        await RunAsync(stop);
        output.Write(Describe(clock.Elapsed));
        return _stats.TotalFailed == 0 && _stats.TotalSucceeded > 0 ? 0 : 1;
    }
}
