using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using TransportBench.Measure;
using TransportBench.Running;

namespace TransportBench.Floor;

/// <summary>
/// The floor, in a process of its own so it runs pinned and configured exactly as the servers are:
/// <c>TransportBench --floor-child SAMPLE_DIRECTORY</c>. Starts the app on the in-memory transport once, then measures
/// one scenario per line of standard input (<c>SCENARIO LEAST_WARMUP WARMUP_LIMIT SECONDS</c>), as the runner measures
/// a server it keeps for the round: warm-up until the JIT is quiet (<see cref="WarmupRule"/>, the JIT's count read
/// in-process), the timed run, one <see cref="FloorResult"/> line. Ends at the end of its input.
/// </summary>
internal static class FloorChild
{
    public const string Flag = "--floor-child";

    private static readonly JsonSerializerOptions Json = new();

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        await using WebApplication app = FloorApp.Build(args[0]);
        await app.StartAsync();
        InMemoryListener listener = await app.Services.GetRequiredService<InMemoryTransportFactory>().Listener.WaitAsync(TimeSpan.FromSeconds(10));
        // The pool Kestrel's own transports take from DI: pinned 4 KiB blocks.
        using MemoryPool<byte> pool = app.Services.GetRequiredService<IMemoryPoolFactory<byte>>().Create();
        using var scheduler = new ClientThreadScheduler();
        int clientTid = await scheduler.NativeThreadId.WaitAsync(TimeSpan.FromSeconds(10));

        for (bool first = true; await Console.In.ReadLineAsync() is string line; first = false)
        {
            string[] fields = line.Split(' ');
            // Peak RSS as a server's: since the start for the first scenario, since its own start for the others.
            bool peakKnown = first || ProcStats.TryResetPeakRss(Environment.ProcessId);
            FloorResult result = await MeasureAsync(
                new FloorClient(Scenario.Find(fields[0]), scheduler, listener, pool), scheduler, clientTid,
                Seconds(fields[1]), Seconds(fields[2]), Seconds(fields[3]), peakKnown);
            Console.WriteLine(FloorResult.Prefix + JsonSerializer.Serialize(result, Json));
        }

        using var stopLimit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(stopLimit.Token);
        return 0;
    }

    private static async Task<FloorResult> MeasureAsync(
        FloorClient client, ClientThreadScheduler scheduler, int clientTid, TimeSpan least, TimeSpan limit, TimeSpan duration,
        bool peakKnown)
    {
        int pid = Environment.ProcessId;
        client.Start();
        var warmup = Stopwatch.StartNew();
        var jitSteps = new List<long>();
        bool settled = await WarmupRule.RunAsync(
            least, limit, (time, _) => Task.Delay(time), () => Task.FromResult<long?>(System.Runtime.JitInfo.GetCompiledMethodCount()),
            () => warmup.Elapsed, jitSteps);
        double warmupSeconds = warmup.Elapsed.TotalSeconds;

        long requests0 = client.Completed;
        TimeSpan process0 = ProcStats.CpuTime(pid);
        TimeSpan client0 = ProcStats.ThreadCpuTime(pid, clientTid);
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        long start = Environment.TickCount64;

        await Task.Delay(duration);

        long requests = client.Completed - requests0;
        TimeSpan process = ProcStats.CpuTime(pid) - process0;
        TimeSpan clientCpu = ProcStats.ThreadCpuTime(pid, clientTid) - client0;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
        double seconds = (Environment.TickCount64 - start) / 1000.0;

        string? error = scheduler.Failure?.Message;
        try
        {
            await client.StopAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            error ??= "the client did not stop within 10 s";
        }
        if (client.Non200 > 0)
        {
            error ??= $"{client.Non200} responses were not 200 OK";
        }

        double perRequest = Math.Max(1, requests);
        return new FloorResult(
            requests,
            seconds,
            (process - clientCpu).TotalMicroseconds / perRequest,
            clientCpu.TotalMicroseconds / perRequest,
            allocated / perRequest,
            peakKnown ? ProcStats.PeakRssKib(pid) : null,
            Environment.ProcessorCount,
            GCSettings.IsServerGC,
            warmupSeconds,
            jitSteps,
            settled,
            requests == 0 ? error ?? "no request completed" : error);
    }

    private static TimeSpan Seconds(string text) => TimeSpan.FromSeconds(double.Parse(text, CultureInfo.InvariantCulture));
}
