using System.Diagnostics;
using System.Net;
using KestrelEpollTransport.Tests.Infrastructure;
using KestrelEpollTransport.Tests.ProcessWide;
using Microsoft.AspNetCore.Connections;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// Bytes an application flushed leave while the thread that flushed goes on with blocking or long work, on a busy pool.
/// The send once was queued on the flushing thread's local queue: other pool threads take from a local queue only when
/// the global queue is empty, and the pool moves a blocked thread's local items only when it blocks on a Task, not on a
/// sleep, an event, a lock, a blocking syscall or CPU work. So on a busy server (the global queue never empty) the bytes
/// waited for that work to end (4–6 s of 6 s, found by review); Sockets sends them meanwhile. The work here ends as soon
/// as the client has the bytes, or at a bound that only a stalled send reaches.
/// </summary>
[Collection(ProcessWideTests.Name)]
public abstract class SendStallTests(TransportKind transport, ITestOutputHelper output)
{
    /// <summary>How long the work lasts at the most: the bytes never came meanwhile when it does.</summary>
    private static readonly TimeSpan WorkBound = TimeSpan.FromSeconds(8);

    [Theory]
    [InlineData("sleep")]
    [InlineData("event")]
    [InlineData("cpu")]
    public async Task FlushThenBlockingOrLongWork_PoolBusy_FlushedBytesLeaveBeforeTheWorkEnds(string work)
    {
        using var received = new ManualResetEventSlim();
        var workEnded = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(async connection =>
        {
            var input = connection.Transport.Input;
            var go = await input.ReadAsync();
            input.AdvanceTo(go.Buffer.End);
            await connection.Transport.Output.WriteAsync("first"u8.ToArray());
            // The work keeps this pool thread until the client has the bytes (or the bound): true when it had them.
            workEnded.SetResult(DoWork(work, received));
            await connection.Transport.Output.WriteAsync("second"u8.ToArray());
        });
        using var client = await RawHttpConnection.ConnectAsync(host.EndPoint);

        using var load = new PoolLoad(chains: 64, WorkBound + WorkBound, spin: TimeSpan.FromMilliseconds(0.2));
        await client.SendAsync("g");
        var buffer = new byte[16];
        int n = await client.Socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, Timeouts.DefaultToken());
        received.Set();

        bool sentDuringTheWork = await workEnded.Task.WithTimeout();
        output.WriteLine($"{transport}/{work}: {n} bytes; sent during the work: {sentDuringTheWork}");
        Assert.True(n > 0);
        Assert.True(sentDuringTheWork, $"{transport}/{work}: the flushed bytes left only when the work ended");
        await client.ReadToEndAsync();
    }

    /// <summary>Blocking or CPU work on the calling pool thread that ends when <paramref name="done"/> is set or at the bound.</summary>
    private static bool DoWork(string work, ManualResetEventSlim done)
    {
        var clock = Stopwatch.StartNew();
        switch (work)
        {
            case "sleep": // a blocking call (a synchronous database driver, file or socket read), in slices
                while (!done.IsSet && clock.Elapsed < WorkBound)
                {
                    Thread.Sleep(20);
                }
                break;
            case "event": // a synchronous wait on an event, a semaphore, a contended lock
                done.Wait(WorkBound);
                break;
            default: // CPU work
                while (!done.IsSet && clock.Elapsed < WorkBound)
                {
                    Thread.SpinWait(100);
                }
                break;
        }
        return done.IsSet;
    }

    private Task<TestHost> StartAsync(Func<ConnectionContext, Task> handler) =>
        TestHost.StartAsync(transport, _ => { }, output, o =>
            o.ConfigureKestrel = kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Run(handler)));
}

/// <summary><see cref="SendStallTests"/> on the epoll transport.</summary>
public sealed class EpollSendStallTests(ITestOutputHelper output) : SendStallTests(TransportKind.Epoll, output);

/// <summary><see cref="SendStallTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsSendStallTests(ITestOutputHelper output) : SendStallTests(TransportKind.Sockets, output);
