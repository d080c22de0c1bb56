namespace KestrelEpollTransport.Testing;

/// <summary>What a rental made to fail by <see cref="LeakTrackingMemoryPoolFactory.FailNextRent"/> throws.</summary>
public sealed class InjectedFaultException : Exception
{
    public InjectedFaultException()
        : base("A memory pool rental failed on purpose (fault injected by the test).")
    {
    }

    public InjectedFaultException(string message)
        : base(message)
    {
    }

    public InjectedFaultException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
