namespace KestrelEpollTransport.Testing;

/// <summary>
/// Waits for a condition that becomes true asynchronously (a thread ending, an fd closing, a block coming back, a log
/// line) and that nothing can await directly. It polls the condition, so the test goes on as soon as it holds; the
/// bound makes a condition that never holds a failure with a message instead of a hang.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Polls <paramref name="condition"/> until it is true; fails with <paramref name="describe"/>() after <paramref name="timeout"/>.</summary>
    public static Task AssertAsync(Func<bool> condition, Func<string> describe, TimeSpan? timeout = null) =>
        AssertAsync(() => Task.FromResult(condition()), describe, timeout);

    /// <summary>Polls an asynchronous condition (a question to a server); each poll is bounded by the same timeout.</summary>
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
