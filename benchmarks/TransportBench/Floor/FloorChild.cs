using System.Buffers;
using System.Globalization;
using System.Runtime;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using TransportBench.Measure;

namespace TransportBench.Floor;

/// <summary>
/// The floor, in a process of its own so it runs pinned and configured exactly as the servers are:
/// <c>TransportBench --floor-child SCENARIO WARMUP_SECONDS SECONDS SAMPLE_DIRECTORY</c>. Starts the app on the in-memory transport,
/// loads it, and prints one <see cref="FloorResult"/> line.
/// </summary>
internal static class FloorChild
{
    public const string Flag = "--floor-child";

    private static readonly JsonSerializerOptions Json = new();

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        Scenario scenario = Scenario.Find(args[0]);
        var warmup = TimeSpan.FromSeconds(double.Parse(args[1], CultureInfo.InvariantCulture));
        var duration = TimeSpan.FromSeconds(double.Parse(args[2], CultureInfo.InvariantCulture));

        await using WebApplication app = FloorApp.Build(args[3], scenario.NeedsShapes);
        await app.StartAsync();
        InMemoryListener listener = await app.Services.GetRequiredService<InMemoryTransportFactory>().Listener.WaitAsync(TimeSpan.FromSeconds(10));
        // The pool Kestrel's own transports take from DI: pinned 4 KiB blocks.
        using MemoryPool<byte> pool = app.Services.GetRequiredService<IMemoryPoolFactory<byte>>().Create();
        using var scheduler = new ClientThreadScheduler();
        int clientTid = await scheduler.NativeThreadId.WaitAsync(TimeSpan.FromSeconds(10));
        int pid = Environment.ProcessId;

        var client = new FloorClient(scenario, scheduler, listener, pool);
        client.Start();
        await Task.Delay(warmup);

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
        using (var stopLimit = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            await app.StopAsync(stopLimit.Token);
        }

        double perRequest = Math.Max(1, requests);
        var result = new FloorResult(
            requests,
            seconds,
            (process - clientCpu).TotalMicroseconds / perRequest,
            clientCpu.TotalMicroseconds / perRequest,
            allocated / perRequest,
            ProcStats.PeakRssKib(pid),
            Environment.ProcessorCount,
            GCSettings.IsServerGC,
            requests == 0 ? error ?? "no request completed" : error);
        Console.WriteLine(FloorResult.Prefix + JsonSerializer.Serialize(result, Json));
        return 0;
    }
}
