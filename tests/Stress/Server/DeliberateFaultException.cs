namespace Stress.Server;

/// <summary>What <c>GET /throw</c> throws: an application fault on purpose, not counted as unexpected.</summary>
internal sealed class DeliberateFaultException : Exception
{
    public DeliberateFaultException()
        : base("Stress /throw: an application fault, on purpose.")
    {
    }

    public DeliberateFaultException(string message)
        : base(message)
    {
    }

    public DeliberateFaultException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
