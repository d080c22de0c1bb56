using System.Runtime.CompilerServices;

namespace KestrelEpollTransport.Tests.Unit;

/// <summary>The shared bounded wait: a bound that fires says which await, how long, and where.</summary>
public sealed class TimeoutsTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task WithTimeout_TaskNeverCompletes_MessageNamesTheCallTheLimitAndTheCallSite()
    {
        var never = new TaskCompletionSource();

        var (wait, line) = (never.Task.WithTimeout(Short), CallerLine());

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => wait);
        Assert.Equal($"`never.Task` did not complete within 0.05 s (TimeoutsTests.cs:{line})", timeout.Message);
    }

    [Fact]
    public async Task WithTimeout_LambdaOverSeveralLines_QuotedOnOneLineAndCut()
    {
        var never = new TaskCompletionSource<int>();

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => Task.Run(async () =>
        {
            // A comment long enough that the quoted expression passes the cut: the message stays one short line.
            return await never.Task;
        }).WithTimeout(Short));

        Assert.StartsWith("`Task.Run(async () => { // A comment long enough", timeout.Message, StringComparison.Ordinal);
        Assert.Matches(@"…` did not complete within 0\.05 s \(TimeoutsTests\.cs:\d+\)$", timeout.Message);
    }

    [Fact]
    public async Task WithTimeout_TaskThrowsItsOwnTimeout_PassesItUnchanged()
    {
        var own = new TimeoutException("the task's own");

        var thrown = await Assert.ThrowsAsync<TimeoutException>(() => Task.FromException<int>(own).WithTimeout());

        Assert.Same(own, thrown);
    }

    [Fact]
    public async Task WithTimeout_TaskCompletes_ReturnsItsResult()
    {
        Assert.Equal(7, await Task.FromResult(7).WithTimeout());
    }

    private static int CallerLine([CallerLineNumber] int line = 0) => line;
}
