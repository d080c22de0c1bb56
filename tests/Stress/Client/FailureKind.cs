namespace Stress.Client;

/// <summary>What went wrong with one exchange. Every kind is a failure of the run.</summary>
internal enum FailureKind
{
    /// <summary>A byte differs from what was sent or asked for, and carries no other connection's nonce.</summary>
    Corrupted,

    /// <summary>The response (or the stream) ended before all of it arrived.</summary>
    Truncated,

    /// <summary>Bytes carrying another connection's nonce (of this run) arrived on this connection.</summary>
    Misrouted,

    /// <summary>The exchange did not finish within the per-operation deadline.</summary>
    Hung,

    /// <summary>The connection was refused, closed or reset before a response, while the server should serve.</summary>
    Dropped,

    /// <summary>A wrong status, header or framing, or an error the client did not expect.</summary>
    Protocol,
}
