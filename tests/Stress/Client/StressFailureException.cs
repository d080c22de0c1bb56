namespace Stress.Client;

/// <summary>An exchange that failed in a way the run counts: thrown by the checks, caught by the worker.</summary>
internal sealed class StressFailureException : Exception
{
    public StressFailureException(FailureKind kind, string message)
        : base(message) => Kind = kind;

    public StressFailureException(FailureKind kind, string message, Exception innerException)
        : base(message, innerException) => Kind = kind;

    public StressFailureException()
    {
    }

    public StressFailureException(string message)
        : base(message)
    {
    }

    public StressFailureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>How it failed.</summary>
    public FailureKind Kind { get; }
}
