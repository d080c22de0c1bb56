using TransportBench.Measure;

namespace TransportBench.Tests.Measure;

/// <summary>
/// perf stat's CSV (-x ,) as the syscall pass reads it: the total, the per-syscall counts, and the writes that send
/// response bytes (writev, sendmsg, sendto, and the second, filtered write counter: writes that are not 8 bytes).
/// </summary>
public sealed class PerfStatTests
{
    /// <summary>Requests wrk completed while perf counted (its WRK_RESULT line in the same pass).</summary>
    private const long PageRequests = 106_920;

    [Fact]
    public void Parse_PagePass_TotalAndNonZeroSyscallsByName()
    {
        SyscallCounts counts = PerfStat.Parse(Recorded.Lines("perf-page.csv"), PageRequests);

        Assert.Equal(281_649, counts.Total);
        Assert.Equal(PageRequests, counts.Requests);
        Assert.Equal(110_207, counts.BySyscall["read"]);
        Assert.Equal(106_936, counts.BySyscall["sendmsg"]);
        Assert.Equal(34_207, counts.BySyscall["epoll_wait"]);
        // The plain write counter (3,252: eventfd wake-ups and all), not the filtered one that comes after it.
        Assert.Equal(3_252, counts.BySyscall["write"]);
        // Zero counts are left out; the filtered counter is not a syscall of its own.
        Assert.DoesNotContain("writev", counts.BySyscall.Keys);
        Assert.DoesNotContain("recvfrom", counts.BySyscall.Keys);
        Assert.All(counts.BySyscall.Keys, name => Assert.DoesNotContain(" ", name));
        Assert.Equal(14, counts.BySyscall.Count);
    }

    [Fact]
    public void Parse_PagePass_SocketWritesAreSendCallsPlusWritesThatAreNot8Bytes()
    {
        SyscallCounts counts = PerfStat.Parse(Recorded.Lines("perf-page.csv"), PageRequests);

        // sendmsg 106,936 + writev 0 + sendto 0 + filtered write 4.
        Assert.Equal(106_940, counts.SocketWrites);
        Assert.Equal(1.0, counts.PerRequest(counts.SocketWrites), 3);
        Assert.Equal(2.634, counts.PerRequest(counts.Total), 3);
    }

    [Fact]
    public void Parse_ProcessThatExited_ZeroCountsLeftOutAndNoDivisionByZero()
    {
        SyscallCounts counts = PerfStat.Parse(Recorded.Lines("perf-exited.csv"), requests: 0);

        Assert.Equal(5, counts.Total);
        Assert.Empty(counts.BySyscall);
        Assert.Equal(0, counts.SocketWrites);
        Assert.Equal(0, counts.PerRequest(counts.Total));
    }

    /// <summary>perf writes "&lt;not counted&gt;" or "&lt;not supported&gt;" for a counter that never ran; comments start with #.</summary>
    [Fact]
    public void Parse_NotCountedAndCommentLines_Skipped()
    {
        string[] lines =
        [
            "# started on Sun Nov 29 04:47:46 2026",
            "",
            "1000,,raw_syscalls:sys_enter,1128221316,100.00,,",
            "<not counted>,,syscalls:sys_enter_read,0,0.00,,",
            "<not supported>,,syscalls:sys_enter_writev,0,0.00,,",
            "400,,syscalls:sys_enter_sendto,1128221316,100.00,,",
        ];

        SyscallCounts counts = PerfStat.Parse(lines, requests: 400);

        Assert.Equal(1000, counts.Total);
        Assert.Equal(["sendto"], counts.BySyscall.Keys);
        Assert.Equal(400, counts.SocketWrites);
    }

    /// <summary>The failure of a full run's pass (sockets-tuned, upload-4k): a thread ended between perf's listing and its attach.</summary>
    private const string ThreadEndedFailure = """
        perf stat failed (exit 255):
        Error:
        The sys_perf_event_open() syscall returned with 3 (No such process) for event (syscalls:sys_enter_readv).
        /bin/dmesg | grep -i perf may provide additional information.
        """;

    [Fact]
    public void FailedOnAThreadThatEnded_TheNoSuchProcessFailure_CountedAgain() =>
        Assert.True(PerfStat.FailedOnAThreadThatEnded(ThreadEndedFailure));

    [Theory]
    [InlineData("perf stat failed (exit 255):\nError:\nNo permission to enable syscalls:sys_enter_read event.")]
    [InlineData("perf stat failed (exit 129):\nusage: perf stat [<options>] [<command>]")]
    [InlineData("wrk failed: connection refused (No such process)")]
    public void FailedOnAThreadThatEnded_AnyOtherFailure_Reported(string failure) =>
        Assert.False(PerfStat.FailedOnAThreadThatEnded(failure));

    /// <summary>The scheduler's software events, counted in the same pass: per request, and none in an older recording.</summary>
    [Fact]
    public void Parse_SchedulerEvents_ContextSwitchesAndMigrations()
    {
        SyscallCounts counts = PerfStat.Parse(Recorded.Lines("perf-scheduler-pinned.csv"), 16_621);

        Assert.Equal((3_272L, 0L), (counts.ContextSwitches, counts.CpuMigrations));
        Assert.Equal(0.197, counts.PerRequest(counts.ContextSwitches!.Value), 3);
        Assert.Empty(counts.BySyscall);
        Assert.Null(PerfStat.Parse(Recorded.Lines("perf-page.csv"), PageRequests).ContextSwitches);
    }
}
