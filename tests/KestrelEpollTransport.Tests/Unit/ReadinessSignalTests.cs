using KestrelEpollTransport.Internal;
using Xunit;

namespace KestrelEpollTransport.Tests.Unit;

public sealed class ReadinessSignalTests
{
    [Fact]
    public async Task WaitAsync_EdgeAfterReset_CompletesAtOnceWithTrue()
    {
        var signal = new ReadinessSignal(runContinuationsAsynchronously: false);
        signal.Reset();
        signal.Signal();

        var wait = signal.WaitAsync();

        Assert.True(wait.IsCompleted);
        Assert.True(await wait);
    }

    [Fact]
    public async Task WaitAsync_EdgeBeforeReset_IsForgottenAndWaitPends()
    {
        var signal = new ReadinessSignal(runContinuationsAsynchronously: false);
        signal.Signal();
        signal.Reset();

        var wait = signal.WaitAsync();
        Assert.False(wait.IsCompleted);

        signal.Signal();
        Assert.True(await wait.AsTask().WithTimeout());
    }

    [Fact]
    public async Task WaitAsync_SignalledFromAnotherThread_ResumesWithTrue()
    {
        var signal = new ReadinessSignal(runContinuationsAsynchronously: true);
        for (int i = 0; i < 1_000; i++)
        {
            signal.Reset();
            var wait = signal.WaitAsync().AsTask();
            _ = Task.Run(signal.Signal);
            Assert.True(await wait.WithTimeout());
        }
    }

    [Fact]
    public async Task Close_WithWaiter_WakesItWithFalseAndStaysClosed()
    {
        var signal = new ReadinessSignal(runContinuationsAsynchronously: false);
        signal.Reset();
        var wait = signal.WaitAsync();

        signal.Close();
        signal.Signal();
        signal.Reset();

        Assert.False(await wait.AsTask().WithTimeout());
        Assert.True(signal.IsClosed);
        Assert.False(await signal.WaitAsync());
    }
}
