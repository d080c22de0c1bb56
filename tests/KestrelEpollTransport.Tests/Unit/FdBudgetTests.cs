using KestrelEpollTransport.Internal;

namespace KestrelEpollTransport.Tests.Unit;

/// <summary>
/// <see cref="FdBudget"/> on a <see cref="SimulatedFdTable"/>, driven by <see cref="SimulatedListener"/>, which makes
/// the calls <c>EpollConnectionListener.AcceptAsync</c> makes in the order it makes them. The rule under test: free fds
/// never fall below the headroom H while the transport accepts (the rest of the process holding what it held).
/// </summary>
public sealed class FdBudgetTests
{
    private const int Limit = 400;

    /// <summary>What the runtime holds before the first listener binds.</summary>
    private const int Baseline = 175;

    /// <summary>The default headroom for <see cref="Limit"/>: max(32, 5 %).</summary>
    private const int H = 32;

    [Fact]
    public void DefaultHeadroom_IsTheLargerOf32And5Percent()
    {
        Assert.Equal(32, FdBudget.DefaultHeadroom(400));
        Assert.Equal(32, FdBudget.DefaultHeadroom(640));
        Assert.Equal(1000, FdBudget.DefaultHeadroom(20_000));
        Assert.Equal(52_428, FdBudget.DefaultHeadroom(1_048_576));
    }

    [Fact]
    public void Burst_AcceptsUpToTheCap_FreeNeverBelowHeadroom()
    {
        var (table, budget) = Start();
        var listener = new SimulatedListener(table, budget);
        Assert.True(listener.Bind());

        int accepted = listener.AcceptAll(pending: 1000);

        Assert.Equal(Limit - Baseline - FdBudget.ReserveSize - H, accepted);
        Assert.Equal(H, table.Free);
        Assert.True(listener.MinFreeAfterACall >= H, $"free fell to {listener.MinFreeAfterACall}");
        Assert.Equal(0, listener.Exhaustions);
    }

    [Fact]
    public void ChurnAtTheCap_EachCloseWakesTheListenerAndLetsOneIn()
    {
        var (table, budget, listener) = StartAtTheCap();
        int accepted = budget.Held;
        Assert.True(budget.WaitForRoom(listener) is false, "At the cap there is no room.");

        for (int cycle = 0; cycle < 50; cycle++)
        {
            listener.Wakes = 0;
            listener.CloseOne();
            Assert.Equal(1, listener.Wakes);
            Assert.Equal(1, listener.AcceptAll(pending: 1000));
            Assert.Equal(H, table.Free);
            Assert.True(budget.WaitForRoom(listener) is false);
        }
        Assert.Equal(accepted, budget.Held);
        Assert.True(listener.MinFreeAfterACall >= H);
    }

    [Fact]
    public void TwoListeners_ShareOneCapAndOneReserve()
    {
        var (table, budget) = Start();
        var first = new SimulatedListener(table, budget);
        var second = new SimulatedListener(table, budget);
        first.Bind();
        int freeAfterOne = table.Free;
        second.Bind();
        Assert.Equal(freeAfterOne, table.Free); // one reserve for all listeners

        // Interleaved, as two accept threads would run.
        int accepted = 0;
        for (int i = 0; i < 1000; i++)
        {
            accepted += (i % 2 == 0 ? first : second).AcceptOne() ? 1 : 0;
        }

        Assert.Equal(Limit - Baseline - FdBudget.ReserveSize - H, accepted);
        Assert.Equal(H, table.Free);
        Assert.True(Math.Min(first.MinFreeAfterACall, second.MinFreeAfterACall) >= H);

        // The first unbinds: the second still holds the reserve, and no room is handed over.
        first.Unbind();
        Assert.True(budget.HoldsReserve);
        Assert.Equal(H, table.Free);
        Assert.False(second.AcceptOne());
    }

    [Fact]
    public void RestOfProcessGrowsIntoTheHeadroom_TransportTakesNoMoreThanItGaveBack_RecalibrationLowersTheCap()
    {
        var (table, budget, listener) = StartAtTheCap();

        table.OpenMany(20); // a file, outgoing connections: the rest now holds 20 more, free is H - 20
        listener.CloseOne();
        Assert.Equal(1, listener.AcceptAll(pending: 1000)); // its own fd back, no more
        Assert.Equal(H - 20, table.Free);

        // The listener's re-check at the cap recalibrates: the cap drops by what the rest took.
        int held = budget.Held;
        budget.Calibrate();
        Assert.Equal(held - 20, budget.Cap);
        for (int i = 0; i < 20; i++)
        {
            listener.CloseOne();
            Assert.False(listener.AcceptOne());
        }
        Assert.Equal(H, table.Free);
        listener.CloseOne();
        Assert.True(listener.AcceptOne());
        Assert.Equal(H, table.Free);
    }

    [Fact]
    public void AcceptedNumberWithinHeadroomOfTheLimit_RecalibratesAtOnce()
    {
        var (table, budget) = Start();
        var listener = new SimulatedListener(table, budget);
        listener.Bind();
        // Since the bind, the rest of the process took all but 19 fds: the cap calibrated at bind is far too high.
        table.OpenMany(table.Free - 19);

        Assert.True(listener.AcceptOne());

        // The fd got the number just under the limit's headroom: every number below it is in use, so the budget
        // recalibrated at once, and the listener takes no more.
        Assert.Equal(0, budget.Cap);
        Assert.False(listener.AcceptOne());
        Assert.Equal(18, table.Free);
    }

    [Fact]
    public void Emfile_ReserveGivenBackFirst_RetryOnlyWhenReservePlusHeadroomIsFree()
    {
        var (table, budget, listener) = StartAtTheCap();
        int accepted = budget.Held;

        // The rest of the process takes every free fd, and the listener is woken by a close: accept4 meets EMFILE.
        var rest = table.OpenMany(table.Free);
        listener.CloseOne();
        var hog = table.OpenMany(1);
        Assert.Equal(0, table.Free);
        Assert.False(listener.AcceptOne());

        Assert.Equal(1, listener.Exhaustions);
        Assert.Equal(FdBudget.ReserveSize, table.Free); // given back before anything else
        Assert.False(budget.HoldsReserve);

        // Still short: a retry takes nothing, holds nothing.
        table.Close(hog[0]);
        Assert.False(budget.TryRecover());
        Assert.Equal(FdBudget.ReserveSize + 1, table.Free);

        // The rest gives back all but H - 1: still not the reserve plus the headroom.
        foreach (int fd in rest.Take(rest.Count - (H - 1)))
        {
            table.Close(fd);
        }
        Assert.False(budget.TryRecover());

        foreach (int fd in rest.Skip(rest.Count - (H - 1)))
        {
            table.Close(fd);
        }
        Assert.True(budget.TryRecover());
        Assert.True(budget.HoldsReserve);
        listener.AcceptAll(pending: 1000);
        Assert.Equal(H, table.Free);
        Assert.Equal(accepted, budget.Held);
    }

    [Fact]
    public void UnbindDuringBackoff_TheLastListenerGivesTheReserveBack()
    {
        var (table, budget, listener) = StartAtTheCap();
        var rest = table.OpenMany(table.Free);
        budget.OnExhausted();
        Assert.False(budget.TryRecover());

        listener.Unbind();
        Assert.False(budget.HoldsReserve);
        foreach (int fd in rest)
        {
            table.Close(fd);
        }
        listener.CloseAll();
        Assert.Equal(Limit - Baseline, table.Free);
        Assert.Equal(0, budget.Held);
    }

    [Fact]
    public void BoundWhileOutOfFds_AttachReportsItAndHoldsNothing()
    {
        var (table, budget) = Start();
        var rest = table.OpenMany(table.Free - 3);
        var listener = new SimulatedListener(table, budget);

        Assert.False(listener.Bind());
        Assert.False(budget.HoldsReserve);
        Assert.Equal(3, table.Free);
        foreach (int fd in rest)
        {
            table.Close(fd);
        }
        Assert.True(budget.TryRecover());
    }

    [Fact]
    public void HeadroomOption_TheLargestAskedApplies()
    {
        var (table, budget) = Start();
        var small = new SimulatedListener(table, budget, headroom: 40);
        var large = new SimulatedListener(table, budget, headroom: 100);
        small.Bind();
        large.Bind();
        Assert.Equal(100, budget.Headroom);
        small.AcceptAll(pending: 1000);
        Assert.Equal(100, table.Free);
        large.Unbind();
        Assert.Equal(40, budget.Headroom);
    }

    [Fact]
    public void WaitForRoom_AWakeBetweenRegisteringAndTheCheck_IsNotLost()
    {
        var (table, budget, listener) = StartAtTheCap();

        Assert.False(budget.WaitForRoom(listener));
        listener.CloseOne();
        Assert.Equal(1, listener.Wakes);
        // Woken listeners are taken off the list: the next close wakes nobody until it waits again.
        listener.Wakes = 0;
        listener.CloseOne();
        Assert.Equal(0, listener.Wakes);
        Assert.True(budget.WaitForRoom(listener)); // room now: not registered
    }

    [Fact]
    public void TryRecover_FailingOrSucceeding_NeverDipsBelowTheHeadroomOnTheWay()
    {
        var (table, budget, listener) = StartAtTheCap();
        var rest = table.OpenMany(table.Free);
        budget.OnExhausted();
        table.Close(rest[0]);
        table.Close(rest[1]);

        table.MinFreeSeen = int.MaxValue;
        Assert.False(budget.TryRecover()); // 18 free: short of the reserve plus the headroom
        Assert.Equal(int.MaxValue, table.MinFreeSeen); // counted, not probed: nothing was opened

        foreach (int fd in rest.Skip(2))
        {
            table.Close(fd);
        }
        Assert.Equal(FdBudget.ReserveSize + H, table.Free);
        Assert.True(budget.TryRecover());
        Assert.True(table.MinFreeSeen >= H, $"free fell to {table.MinFreeSeen} while the reserve was taken back");
    }

    [Fact]
    public void AttachWhileShort_TakesNothingFromWhatTheProcessHasLeft()
    {
        var (table, budget) = Start();
        var first = new SimulatedListener(table, budget);
        first.Bind();
        first.AcceptAll(pending: 1000);
        var rest = table.OpenMany(table.Free);
        budget.OnExhausted();
        rest.Take(4).ToList().ForEach(table.Close); // 20 free

        Assert.False(new SimulatedListener(table, budget).Bind()); // a second host binds now
        Assert.Equal(20, table.Free);
    }

    [Fact]
    public void AfterOneListenersExhaustion_ABusyOtherListenerLeavesRoomForTheReserve()
    {
        var (table, budget) = Start();
        var exhausted = new SimulatedListener(table, budget);
        var busy = new SimulatedListener(table, budget);
        exhausted.Bind();
        busy.Bind();
        busy.AcceptAll(pending: 1000);
        var rest = table.OpenMany(table.Free);
        budget.OnExhausted(); // the first listener met EMFILE
        rest.ForEach(table.Close);
        budget.Calibrate(); // the busy one's re-check at the cap

        // The busy listener has a backlog and takes all the room it is given; the cap keeps the reserve's room free.
        busy.AcceptAll(pending: 1000);
        Assert.True(budget.TryRecover(), $"free {table.Free}: the busy listener took the reserve's room");
        Assert.True(budget.HoldsReserve);
        Assert.Equal(H, table.Free);
    }

    [Fact]
    public void CapRaisedByACalibration_WakesAPausedListener()
    {
        var (table, budget) = Start();
        var listener = new SimulatedListener(table, budget);
        listener.Bind();
        var rest = table.OpenMany(10);
        budget.Calibrate();
        listener.AcceptAll(pending: 1000);
        Assert.False(budget.WaitForRoom(listener));

        rest.ForEach(table.Close);
        budget.Calibrate(); // another listener's re-check sees the 10 the rest gave back

        Assert.Equal(1, listener.Wakes);
    }

    [Fact]
    public void ProcessFdTable_CountsWhatProcListsLessTheListing()
    {
        var spare = Enumerable.Range(0, 100).Select(_ => ProcessFdTable.Instance.OpenSpare()).ToList();
        try
        {
            Assert.All(spare, fd => Assert.True(fd >= 0));
            int counted = ProcessFdTable.Instance.CountOpen();
            int listed = Directory.GetFileSystemEntries("/proc/self/fd").Length - 1;
            // Other tests open and close fds meanwhile: close, not equal.
            Assert.InRange(counted, listed - 50, listed + 50);
            Assert.True(counted >= 100);
        }
        finally
        {
            spare.ForEach(ProcessFdTable.Instance.Close);
        }
    }

    /// <summary>A listener bound and at the cap: it accepted all it may of a backlog larger than the budget.</summary>
    private static (SimulatedFdTable Table, FdBudget Budget, SimulatedListener Listener) StartAtTheCap()
    {
        var (table, budget) = Start();
        var listener = new SimulatedListener(table, budget);
        Assert.True(listener.Bind());
        listener.AcceptAll(pending: 1000);
        return (table, budget, listener);
    }

    private static (SimulatedFdTable Table, FdBudget Budget) Start()
    {
        var table = new SimulatedFdTable(Limit);
        table.OpenMany(Baseline);
        return (table, new FdBudget(table));
    }

    /// <summary>The calls the real listener makes, in its order; records the least free fds seen after any of them.</summary>
    private sealed class SimulatedListener(SimulatedFdTable table, FdBudget budget, int? headroom = null) : FdBudget.IWaiter
    {
        private readonly List<int> _connections = [];

        public int MinFreeAfterACall { get; private set; } = int.MaxValue;

        public int Exhaustions { get; private set; }

        public int Wakes { get; set; }

        public bool Bind() => Observe(budget.Attach(this, headroom));

        public void Unbind() => budget.Detach(this);

        /// <summary>One pass of AcceptAsync with a connection pending: take, accept4, and what follows.</summary>
        public bool AcceptOne()
        {
            if (!budget.TryTake())
            {
                return Observe(false);
            }
            int fd = table.Open();
            if (fd >= 0)
            {
                budget.Accepted(fd);
                _connections.Add(fd);
                return Observe(true);
            }
            budget.Return();
            budget.OnExhausted();
            Exhaustions++;
            return false;
        }

        public int AcceptAll(int pending)
        {
            int accepted = 0;
            while (accepted < pending && AcceptOne())
            {
                accepted++;
            }
            return accepted;
        }

        /// <summary>A connection ends: its fd is closed, then the budget told (SafeFdHandle.ReleaseHandle's order).</summary>
        public void CloseOne()
        {
            int fd = _connections[^1];
            _connections.RemoveAt(_connections.Count - 1);
            table.Close(fd);
            budget.Released();
        }

        public void CloseAll()
        {
            while (_connections.Count > 0)
            {
                CloseOne();
            }
        }

        void FdBudget.IWaiter.Wake() => Wakes++;

        private bool Observe(bool result)
        {
            MinFreeAfterACall = Math.Min(MinFreeAfterACall, table.Free);
            return result;
        }
    }
}
