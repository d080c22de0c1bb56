namespace KestrelEpollTransport.Testing;

/// <summary>
/// Bounds for every wait in the suites. A wait that hits one is a failure (something hung), never the normal way a
/// test ends, so the bounds are generous: they must not fire on a loaded 2-core CI machine running both test
/// projects at once.
/// </summary>
public static class Timeouts
{
    /// <summary>The bound for a single await: a request, a read, a host start or stop.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    /// <summary>The bound for a whole bulk operation (1,000 requests, a 64 MiB transfer).</summary>
    public static readonly TimeSpan Bulk = TimeSpan.FromSeconds(90);

    /// <summary>The bound for a whole phase of a load test (10,000 connects, a churn run, a burst held at the fd limit).</summary>
    public static readonly TimeSpan LoadPhase = TimeSpan.FromSeconds(180);

    /// <summary>Bounds <paramref name="task"/> by <see cref="Default"/>.</summary>
    public static Task WithTimeout(this Task task) => task.WaitAsync(Default);

    /// <summary>Bounds <paramref name="task"/> by <see cref="Default"/>.</summary>
    public static Task<T> WithTimeout<T>(this Task<T> task) => task.WaitAsync(Default);

    /// <summary>Bounds <paramref name="task"/> by <paramref name="timeout"/>.</summary>
    public static Task WithTimeout(this Task task, TimeSpan timeout) => task.WaitAsync(timeout);

    /// <summary>Bounds <paramref name="task"/> by <paramref name="timeout"/>.</summary>
    public static Task<T> WithTimeout<T>(this Task<T> task, TimeSpan timeout) => task.WaitAsync(timeout);

    /// <summary>A token that fires after <see cref="Default"/>, for socket calls that take a token rather than a bound.</summary>
    public static CancellationToken DefaultToken() => new CancellationTokenSource(Default).Token;
}
