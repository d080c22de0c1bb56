namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>
/// Waits for a condition that becomes true asynchronously (an fd closing, a block coming back, a log line) and that
/// nothing can await directly: polls it, so the test goes on as soon as it holds, and fails with a message at the
/// bound instead of hanging.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Polls <paramref name="condition"/> until true; fails with <paramref name="describe"/>() after <paramref name="timeout"/>.</summary>
    public static async Task AssertAsync(Func<bool> condition, Func<string> describe, TimeSpan? timeout = null)
    {
        var bound = timeout ?? Timeouts.Default;
        var deadline = DateTime.UtcNow + bound;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Condition not met within {bound.TotalSeconds:0} s: {describe()}");
            }
            await Task.Delay(PollInterval);
        }
    }

    /// <summary>Polls an asynchronous condition.</summary>
    public static async Task AssertAsync(Func<Task<bool>> condition, Func<string> describe, TimeSpan? timeout = null)
    {
        var bound = timeout ?? Timeouts.Default;
        var deadline = DateTime.UtcNow + bound;
        while (!await condition().WaitAsync(bound))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Condition not met within {bound.TotalSeconds:0} s: {describe()}");
            }
            await Task.Delay(PollInterval);
        }
    }
}
