using System.Net.Sockets;
using KestrelEpollTransport.Internal;
using KestrelEpollTransport.Tests.Lifecycle;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// Random orders of the close events of many connections on one loop (with the hand-off, or inline scheduling), each
/// checked for: DisposeAsync returns, ConnectionClosed fires exactly once, the input ends, every block goes back to the
/// pool, nothing stays registered. Bounded in time (LIFECYCLE_STRESS_SECONDS, default 3 per case); seeds printed
/// (LIFECYCLE_STRESS_SEED replays one).
/// </summary>
public sealed class LifecycleStressTests(ITestOutputHelper output)
{
    private static readonly TimeSpan PerConnectionBound = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task RandomCloseOrders_EveryConnectionEndsOnce(bool inline, bool stopLoopMidway)
    {
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("LIFECYCLE_STRESS_SECONDS"), out int s) ? s : 3;
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        int rounds = 0, connectionsRun = 0, handOffs = 0;
        var master = new Random();
        while (DateTime.UtcNow < deadline)
        {
            int seed = int.TryParse(Environment.GetEnvironmentVariable("LIFECYCLE_STRESS_SEED"), out int fixedSeed) ? fixedSeed : master.Next();
            var pools = new LeakTrackingMemoryPoolFactory();
            var loop = new EpollEventLoop(7, pools.Create(new Microsoft.AspNetCore.Connections.MemoryPoolOptions()), NullLogger.Instance, new EpollTransportMetrics(), handOffWhenBusy: !inline);
            loop.Start();
            bool stopped = false;
            try
            {
                var options = new EpollTransportOptions { UnsafePreferInlineScheduling = inline, MaxReadBufferSize = 8 * 1024, MaxWriteBufferSize = 16 * 1024 };
                var connections = new LoopConnections(loop, options);
                var random = new Random(seed);
                int count = random.Next(2, 10);
                var tasks = new List<Task<string?>>();
                for (int i = 0; i < count; i++)
                {
                    var (server, client) = await connections.ConnectAsync();
                    tasks.Add(RunOneAsync(server, client, new Random(random.Next())));
                }
                if (stopLoopMidway)
                {
                    await Task.Delay(random.Next(0, 5));
                    await Task.Run(loop.Stop);
                    stopped = true;
                }
                var all = Task.WhenAll(tasks);
                if (await Task.WhenAny(all, Task.Delay(PerConnectionBound)) != all)
                {
                    var pending = tasks.Select((t, i) => t.IsCompleted ? null : $"#{i}").Where(x => x is not null);
                    Assert.Fail($"seed {seed} (inline {inline}, stop {stopLoopMidway}): connections {string.Join(",", pending)} never ended; stages: {string.Join(" | ", Stages)}");
                }
                foreach (var failure in (await all).Where(f => f is not null))
                {
                    Assert.Fail($"seed {seed} (inline {inline}, stop {stopLoopMidway}): {failure}");
                }
                connectionsRun += count;
                if (!stopped)
                {
                    await Eventually.AssertAsync(() => loop.RegistrationCount == 0, () => $"seed {seed}: {loop.RegistrationCount} still registered", TimeSpan.FromSeconds(10));
                }
            }
            finally
            {
                if (!stopped)
                {
                    loop.Stop();
                }
                handOffs += loop.HandOffCount;
            }
            await Eventually.AssertAsync(() => pools.Outstanding == 0, () => $"seed {seed}: {pools.Outstanding} blocks outstanding", TimeSpan.FromSeconds(10));
            Assert.Equal(0, pools.DoubleReturns);
            rounds++;
            Stages.Clear();
        }
        output.WriteLine($"{rounds} rounds, {connectionsRun} connections, {handOffs} hand-offs");
    }

    private static readonly System.Collections.Concurrent.ConcurrentBag<string> Stages = [];

    /// <summary>Runs one connection's random story; null when it ended as it must, else what went wrong.</summary>
    private static async Task<string?> RunOneAsync(EpollConnection server, Socket client, Random random)
    {
        int closedCount = 0;
        server.ConnectionClosed.Register(() => Interlocked.Increment(ref closedCount));
        int scenario = random.Next(1000);
        string story = $"conn {server.ConnectionId} scenario {scenario}";
        var clientTask = Task.Run(() => RunClientAsync(client, new Random(random.Next())));
        var appTask = Task.Run(() => RunAppAsync(server, new Random(random.Next())));
        try
        {
            await appTask.WaitAsync(PerConnectionBound);
        }
        catch (TimeoutException)
        {
            Stages.Add($"{story}: app stuck");
            return $"{story}: the app never ended";
        }
        var dispose = server.DisposeAsync().AsTask();
        if (await Task.WhenAny(dispose, Task.Delay(PerConnectionBound)) != dispose)
        {
            client.Dispose();
            return $"{story}: DisposeAsync never returned";
        }
        client.Dispose();
        await Task.WhenAny(clientTask, Task.Delay(PerConnectionBound));
        if (Volatile.Read(ref closedCount) != 1)
        {
            return $"{story}: ConnectionClosed fired {closedCount} times";
        }
        return null;
    }

    private static async Task RunAppAsync(EpollConnection connection, Random random)
    {
        var input = connection.Transport.Input;
        var outputPipe = connection.Transport.Output;
        int steps = random.Next(1, 6);
        try
        {
            for (int step = 0; step < steps; step++)
            {
                switch (random.Next(9))
                {
                    case 0:
                    case 1:
                        // Read some, consuming or not (not: the input pauses at MaxReadBufferSize).
                        bool consume = random.Next(3) != 0;
                        for (int r = random.Next(1, 5); r > 0; r--)
                        {
                            var readTask = input.ReadAsync().AsTask();
                            if (await Task.WhenAny(readTask, Task.Delay(random.Next(1, 30))) != readTask)
                            {
                                input.CancelPendingRead();
                            }
                            var result = await readTask;
                            input.AdvanceTo(consume ? result.Buffer.End : result.Buffer.Start, result.Buffer.End);
                            if (result.IsCompleted)
                            {
                                break;
                            }
                        }
                        break;
                    case 2:
                    case 3:
                        // Write and flush, from this pool thread or a plain thread.
                        int size = random.Next(1, 200_000);
                        if (random.Next(2) == 0)
                        {
                            var flush = outputPipe.WriteAsync(new byte[size]).AsTask();
                            await Task.WhenAny(flush, Task.Delay(random.Next(1, 50)));
                        }
                        else
                        {
                            // One writer at a time (as Kestrel): the app goes on once the thread's write returned.
                            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                            var thread = new Thread(() =>
                            {
                                try
                                {
                                    outputPipe.WriteAsync(new byte[size]).AsTask().Wait(200);
                                }
                                catch
                                {
                                }
                                written.SetResult();
                            }) { IsBackground = true };
                            thread.Start();
                            await written.Task;
                        }
                        break;
                    case 4:
                        connection.Abort(new ConnectionAbortedException("app abort"));
                        break;
                    case 5:
                        connection.Abort(null!);
                        break;
                    case 6:
                        input.Complete(random.Next(2) == 0 ? null : new InvalidOperationException("app input error"));
                        return;
                    case 7:
                        outputPipe.Complete(random.Next(2) == 0 ? null : new InvalidOperationException("app output error"));
                        return;
                    default:
                        await Task.Delay(random.Next(0, 10));
                        break;
                }
            }
        }
        catch (Exception)
        {
            // The app sees aborts and resets; what matters is that the connection still ends.
        }
    }

    private static async Task RunClientAsync(Socket client, Random random)
    {
        try
        {
            var buffer = new byte[64 * 1024];
            int steps = random.Next(1, 6);
            for (int step = 0; step < steps; step++)
            {
                switch (random.Next(7))
                {
                    case 0:
                    case 1:
                        int size = random.Next(1, 300_000);
                        var send = client.SendAsync(new byte[size], SocketFlags.None);
                        await Task.WhenAny(send, Task.Delay(random.Next(1, 50)));
                        break;
                    case 2:
                        client.Shutdown(SocketShutdown.Send);
                        break;
                    case 3:
                        client.LingerState = new LingerOption(true, 0);
                        client.Close();
                        return;
                    case 4:
                        using (var cts = new CancellationTokenSource(random.Next(1, 50)))
                        {
                            try
                            {
                                await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                            }
                            catch (OperationCanceledException)
                            {
                            }
                        }
                        break;
                    default:
                        await Task.Delay(random.Next(0, 10));
                        break;
                }
            }
            // Then read to the end: the server closes (FIN or RST) once its side is done.
            while (await client.ReceiveAsync(buffer, SocketFlags.None) > 0)
            {
            }
        }
        catch (Exception)
        {
        }
    }
}
