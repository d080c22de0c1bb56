namespace TransportBench.Servers;

/// <summary>A server that did not come up (build missing, crash at start, no start line): skipped for the rest of the run.</summary>
internal sealed class ServerStartException : Exception
{
    public ServerStartException()
    {
    }

    public ServerStartException(string message)
        : base(message)
    {
    }

    public ServerStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
