namespace KestrelEpollTransport.Tests.Infrastructure;

/// <summary>
/// Holds an <see cref="IAsyncDisposable"/> (a listener, a connection) so that <c>await using</c> disposes it within
/// <see cref="Timeouts.Default"/>: a dispose that hangs fails the test instead of hanging the run.
/// </summary>
internal sealed class Bounded<T>(T value) : IAsyncDisposable where T : IAsyncDisposable
{
    /// <summary>The object disposed.</summary>
    public T Value { get; } = value;

    public ValueTask DisposeAsync() => new(Value.DisposeAsync().AsTask().WithTimeout());
}
