namespace KestrelEpollTransport.Internal;

/// <summary>
/// What <see cref="FdBudget"/> needs of the process's fd table: the process's one (<see cref="ProcessFdTable"/>), or a
/// simulated one in the unit tests.
/// </summary>
internal interface IFdTable
{
    /// <summary>The soft RLIMIT_NOFILE now: fd numbers at or above it cannot be opened.</summary>
    int SoftLimit();

    /// <summary>How many fds the process has open now; -1 when that cannot be known (no /proc).</summary>
    int CountOpen();

    /// <summary>Opens an fd that does nothing (for the reserve and for probing); <c>-errno</c> on failure (EMFILE).</summary>
    int OpenSpare();

    /// <summary>Closes an fd that <see cref="OpenSpare"/> opened.</summary>
    void Close(int fd);
}
