namespace Stress.Client;

/// <summary>
/// The server closed or reset the connection, or refused it, before any byte of a response: a failure while it
/// serves, the expected end of a request that raced a graceful stop.
/// </summary>
internal sealed class NoResponseException : Exception
{
    public NoResponseException()
    {
    }

    public NoResponseException(string message)
        : base(message)
    {
    }

    public NoResponseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
