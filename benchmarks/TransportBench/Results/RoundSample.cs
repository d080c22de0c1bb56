namespace TransportBench.Results;

/// <summary>One server measured once in one scenario: everything the runner observed, for the JSON file.</summary>
internal sealed class RoundSample
{
    public required string Scenario { get; init; }
    public required string Server { get; init; }
    public required int Round { get; init; }

    /// <summary>The layout it ran in: pinned, shared, split-N (Cli/CoreLayout).</summary>
    public string Layout { get; init; } = "pinned";

    /// <summary>What the server said at start: transport, ProcessorCount, GC mode.</summary>
    public ServerIdentity? Identity { get; set; }
    public double? RequestsPerSecond { get; set; }
    public long? Requests { get; set; }

    /// <summary>Server utime+stime during the timed run, divided by its requests (the floor: minus its client thread).</summary>
    public double? CpuMicrosPerRequest { get; set; }

    /// <summary>The stime part of <see cref="CpuMicrosPerRequest"/>: the kernel's work per request.</summary>
    public double? KernelMicrosPerRequest { get; set; }

    /// <summary>Bytes the server's GC heap allocated during the timed run, divided by its requests.</summary>
    public double? AllocatedBytesPerRequest { get; set; }

    /// <summary>How busy the server, the load CPUs and other processes on the server CPUs were during the timed run.</summary>
    public CpuUse? Cpu { get; set; }

    /// <summary>VmHWM at the end of the scenario, KiB: the process's peak since the scenario began (since it started,
    /// for a new one), the round's earlier scenarios left out, but not what they left in its heap and pools.</summary>
    public long? PeakRssKib { get; set; }

    /// <summary>The floor only: CPU of its in-process client, per request, excluded from <see cref="CpuMicrosPerRequest"/>.</summary>
    public double? ClientCpuMicrosPerRequest { get; set; }

    /// <summary>The saturating load's own figures (wrk or h2load).</summary>
    public LoadResult? Load { get; set; }
    public FixedRateResult? FixedRate { get; set; }
    public IdleResult? Idle { get; set; }
    public FairnessResult? Fairness { get; set; }
    public SyscallCounts? Syscalls { get; set; }

    /// <summary>Why <see cref="Syscalls"/> is missing, when it is.</summary>
    public string? SyscallsUnavailable { get; set; }

    /// <summary>Whether the measurement started its server process (a warm-up from --warmup) rather than using the one
    /// its server kept from the round's earlier scenarios (from Running/WarmupRule.ReusedLeast).</summary>
    public bool NewProcess { get; init; }

    /// <summary>Seconds of load before the timed run (see Measurer.WarmUpAsync).</summary>
    public double? WarmupSeconds { get; set; }

    /// <summary>Methods the server's JIT compiled in each warm-up step after the least warm-up.</summary>
    public IReadOnlyList<long> WarmupJitSteps { get; set; } = [];

    /// <summary>Whether the server's JIT went quiet within the warm-up (false: it hit --warmup-max still compiling).</summary>
    public bool JitSettled { get; set; }

    /// <summary>Measurements made for this round (more than 1 when a noisy one was repeated; the quietest is kept).</summary>
    public int Attempts { get; set; } = 1;

    /// <summary>Why this measurement failed; the other fields are then partial or empty.</summary>
    public string? Error { get; set; }

    /// <summary>A sample of <paramref name="step"/> with nothing measured yet.</summary>
    public static RoundSample Of(Running.Step step, bool newProcess = false, string? error = null) => new()
    {
        Scenario = step.Scenario.Name, Server = step.Server.Name, Round = step.Round, Layout = step.Layout, NewProcess = newProcess, Error = error,
    };
}
