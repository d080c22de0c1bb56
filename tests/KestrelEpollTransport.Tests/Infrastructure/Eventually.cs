namespace KestrelEpollTransport.Tests.Infrastructure;

/// <summary>
/// Waits for a condition that becomes true asynchronously (a thread ending, an fd closing, a block coming back)
/// and that nothing can await directly. It polls the condition, so the test ends as soon as it holds; the bound
/// makes a condition that never holds a failure with a message instead of a hang.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Polls <paramref name="condition"/> until it is true; fails with <paramref name="describe"/>() after <paramref name="timeout"/>.</summary>
    public static async Task AssertAsync(Func<bool> condition, Func<string> describe, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeouts.Default);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Condition not met within {(timeout ?? Timeouts.Default).TotalSeconds:0} s: {describe()}");
            }
            await Task.Delay(PollInterval);
        }
    }
}
