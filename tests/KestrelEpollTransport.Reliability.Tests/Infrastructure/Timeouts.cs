namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>
/// Bounds for every wait. A wait that hits one is a failure (something hung), never the normal way a test ends, so
/// the bounds are generous: they must not fire on a loaded 2-core CI machine running another test project beside us.
/// </summary>
public static class Timeouts
{
    /// <summary>A single await: a request, a read, a host start or stop.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    /// <summary>A whole bulk phase (10,000 connects, a churn run).</summary>
    public static readonly TimeSpan Bulk = TimeSpan.FromSeconds(180);

    public static Task WithTimeout(this Task task) => task.WaitAsync(Default);

    public static Task<T> WithTimeout<T>(this Task<T> task) => task.WaitAsync(Default);

    public static Task WithTimeout(this Task task, TimeSpan timeout) => task.WaitAsync(timeout);

    public static Task<T> WithTimeout<T>(this Task<T> task, TimeSpan timeout) => task.WaitAsync(timeout);

    /// <summary>A token that fires after <see cref="Default"/>, for socket calls.</summary>
    public static CancellationToken DefaultToken() => new CancellationTokenSource(Default).Token;
}
