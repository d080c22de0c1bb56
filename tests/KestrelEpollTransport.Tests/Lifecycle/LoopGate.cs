using KestrelEpollTransport.Internal;
using Microsoft.AspNetCore.Connections;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// Holds an event loop inside a posted work item until disposed, so that whatever the test then posts to the loop (an
/// abort's close, a flush continuation) queues behind it in a known order. On a Sockets connection it holds nothing:
/// the same test then runs the same calls in whatever order the transport takes them.
/// </summary>
internal sealed class LoopGate : IDisposable
{
    private readonly ManualResetEventSlim _release = new();

    private LoopGate()
    {
    }

    /// <summary>Holds the loop of <paramref name="connection"/> if it is an epoll connection; returns once the loop is held.</summary>
    public static Task<LoopGate> HoldAsync(ConnectionContext connection) =>
        connection is EpollConnection epoll ? HoldAsync(epoll.Loop) : Task.FromResult(new LoopGate());

    /// <summary>Holds <paramref name="loop"/>; returns once the loop runs the holding item.</summary>
    public static async Task<LoopGate> HoldAsync(EpollEventLoop loop)
    {
        var gate = new LoopGate();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        loop.Schedule(_ =>
        {
            entered.SetResult();
            // Bounded: a test that fails before it releases the gate must not hold the loop for ever.
            gate._release.Wait(Timeouts.Default);
        }, null);
        await entered.Task.WithTimeout();
        return gate;
    }

    /// <summary>Releases the loop.</summary>
    public void Dispose() => _release.Set();
}
