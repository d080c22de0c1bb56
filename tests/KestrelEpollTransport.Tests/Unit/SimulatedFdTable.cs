using KestrelEpollTransport.Internal;

namespace KestrelEpollTransport.Tests.Unit;

/// <summary>
/// An fd table as the kernel keeps one: numbers below a soft limit, the lowest free number handed out, EMFILE when
/// none is free. The "rest of the process" opens and closes fds here too, behind the budget's back.
/// </summary>
internal sealed class SimulatedFdTable(int limit) : IFdTable
{
    private const int EMFILE = 24;

    private readonly SortedSet<int> _open = [];

    public int Limit { get; set; } = limit;

    /// <summary>The fewest free fds seen right after any open since it was last reset: a dip inside a call shows here.</summary>
    public int MinFreeSeen { get; set; } = int.MaxValue;

    /// <summary>fds that can still be opened.</summary>
    public int Free => Math.Max(0, Limit - _open.Count);

    /// <summary>Opens the lowest free number; -EMFILE when none below the limit is free.</summary>
    public int Open()
    {
        for (int fd = 0; fd < Limit; fd++)
        {
            if (_open.Add(fd))
            {
                MinFreeSeen = Math.Min(MinFreeSeen, Free);
                return fd;
            }
        }
        return -EMFILE;
    }

    /// <summary>Opens <paramref name="count"/> fds for the rest of the process; returns them.</summary>
    public List<int> OpenMany(int count)
    {
        var fds = new List<int>();
        for (int i = 0; i < count; i++)
        {
            int fd = Open();
            Assert.True(fd >= 0, $"The simulated process ran out of fds opening {count}.");
            fds.Add(fd);
        }
        return fds;
    }

    public void Close(int fd) => Assert.True(_open.Remove(fd), $"fd {fd} closed twice or never opened.");

    int IFdTable.SoftLimit() => Limit;

    int IFdTable.CountOpen() => _open.Count;

    int IFdTable.OpenSpare() => Open();
}
