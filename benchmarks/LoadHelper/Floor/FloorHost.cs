using System.Runtime;

namespace TransportBench.Floor;

/// <summary>The floor: the app on the in-memory transport, started once, then one scenario per <see cref="FloorJob"/>
/// as the runner measures a server it keeps: warm-up until the JIT is quiet (<see cref="WarmupRule"/>), timed run.</summary>
internal sealed class FloorHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly InMemoryListener _listener;
    private readonly MemoryPool<byte> _pool;
    private readonly ClientThreadScheduler _scheduler;
    private readonly int _clientTid;
    // Whether a scenario ran already: the first one's peak RSS is the process's since its start.
    private bool _measured;

    private FloorHost(WebApplication app, InMemoryListener listener, MemoryPool<byte> pool, ClientThreadScheduler scheduler, int clientTid) =>
        (_app, _listener, _pool, _scheduler, _clientTid) = (app, listener, pool, scheduler, clientTid);

    public static async Task<FloorHost> StartAsync(string sampleDirectory)
    {
        WebApplication app = FloorApp.Build(sampleDirectory);
        await app.StartAsync();
        InMemoryListener listener = await app.Services.GetRequiredService<InMemoryTransportFactory>().Listener.WaitAsync(TimeSpan.FromSeconds(10));
        // The pool Kestrel's own transports take from DI: pinned 4 KiB blocks.
        MemoryPool<byte> pool = app.Services.GetRequiredService<IMemoryPoolFactory<byte>>().Create();
        var scheduler = new ClientThreadScheduler();
        int clientTid = await scheduler.NativeThreadId.WaitAsync(TimeSpan.FromSeconds(10));
        return new FloorHost(app, listener, pool, scheduler, clientTid);
    }

    public async ValueTask DisposeAsync()
    {
        using var stopLimit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(stopLimit.Token);
        _scheduler.Dispose();
        _pool.Dispose();
        await _app.DisposeAsync();
    }

    public async Task<FloorResult> MeasureAsync(FloorJob job)
    {
        int pid = Environment.ProcessId;
        // Peak RSS as a server's: since the start for the first scenario, since its own start for the others.
        bool peakKnown = !_measured || ProcStats.TryResetPeakRss(pid);
        _measured = true;
        var client = new FloorClient(Scenario.Find(job.Scenario), _scheduler, _listener, _pool);
        client.Start();
        var warmup = Stopwatch.StartNew();
        var jitSteps = new List<long>();
        bool settled = await WarmupRule.RunAsync(TimeSpan.FromSeconds(job.LeastWarmupSeconds), TimeSpan.FromSeconds(job.WarmupLimitSeconds),
            Task.Delay, () => Task.FromResult<long?>(JitInfo.GetCompiledMethodCount()), () => warmup.Elapsed, jitSteps);
        double warmupSeconds = warmup.Elapsed.TotalSeconds;

        long requests0 = client.Completed;
        TimeSpan process0 = ProcStats.CpuTime(pid);
        TimeSpan client0 = ProcStats.ThreadCpuTime(pid, _clientTid);
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        long start = Environment.TickCount64;

        await Task.Delay(TimeSpan.FromSeconds(job.Seconds));

        long requests = client.Completed - requests0;
        TimeSpan process = ProcStats.CpuTime(pid) - process0;
        TimeSpan clientCpu = ProcStats.ThreadCpuTime(pid, _clientTid) - client0;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
        double seconds = (Environment.TickCount64 - start) / 1000.0;

        string? error = _scheduler.Failure?.Message;
        try
        {
            await client.StopAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            error ??= "the client did not stop within 10 s";
        }
        error ??= client.Non200 > 0 ? $"{client.Non200} responses were not 200 OK" : null;

        double perRequest = Math.Max(1, requests);
        return new FloorResult(requests, seconds, (process - clientCpu).TotalMicroseconds / perRequest, clientCpu.TotalMicroseconds / perRequest,
            allocated / perRequest, peakKnown ? ProcStats.PeakRssKib(pid) : null, Environment.ProcessorCount, GCSettings.IsServerGC,
            warmupSeconds, jitSteps, settled, requests == 0 ? error ?? "no request completed" : error);
    }
}
