namespace TransportBench.Results;

/// <summary>One server measured once in one scenario: everything the runner observed, for results.json.</summary>
internal sealed class RoundSample
{
    public required string Scenario { get; init; }
    public required string Server { get; init; }
    public required int Round { get; init; }
    /// <summary>pinned, shared or split-N (Cli/CoreLayout).</summary>
    public string Layout { get; init; } = "pinned";
    /// <summary>What the server said at start: transport, ProcessorCount, GC mode.</summary>
    public ServerIdentity? Identity { get; set; }
    public double? RequestsPerSecond { get; set; }
    public long? Requests { get; set; }
    /// <summary>Server utime+stime during the timed run per request (the floor: minus its client thread).</summary>
    public double? CpuMicrosPerRequest { get; set; }
    /// <summary>The stime part of <see cref="CpuMicrosPerRequest"/>.</summary>
    public double? KernelMicrosPerRequest { get; set; }
    public double? AllocatedBytesPerRequest { get; set; }
    public CpuUse? Cpu { get; set; }
    /// <summary>VmHWM at the end of the scenario, KiB, reset at its start (a new process's: since it started).</summary>
    public long? PeakRssKib { get; set; }
    /// <summary>The floor only: its in-process client's CPU per request, left out of <see cref="CpuMicrosPerRequest"/>.</summary>
    public double? ClientCpuMicrosPerRequest { get; set; }
    /// <summary>The saturating load's own figures (wrk or h2load).</summary>
    public LoadResult? Load { get; set; }
    public FixedRateResult? FixedRate { get; set; }
    public IdleResult? Idle { get; set; }
    public FairnessResult? Fairness { get; set; }
    public SyscallCounts? Syscalls { get; set; }
    /// <summary>Why <see cref="Syscalls"/> is missing, when it is.</summary>
    public string? SyscallsUnavailable { get; set; }
    /// <summary>Whether the measurement started its server process rather than using the one kept for the round.</summary>
    public bool NewProcess { get; init; }
    public double? WarmupSeconds { get; set; }
    /// <summary>Methods the server's JIT compiled in each warm-up step after the least warm-up.</summary>
    public IReadOnlyList<long> WarmupJitSteps { get; set; } = [];
    /// <summary>Whether the JIT went quiet within the warm-up (false: it hit --warmup-max still compiling).</summary>
    public bool JitSettled { get; set; }
    /// <summary>Timed runs made (more than 1 when a noisy one was repeated; the quietest is kept).</summary>
    public int Attempts { get; set; } = 1;
    /// <summary>Why this measurement failed; the other fields are then partial or empty.</summary>
    public string? Error { get; set; }

    /// <summary>A sample of <paramref name="step"/> with nothing measured yet.</summary>
    public static RoundSample Of(Running.Step step, bool newProcess = false, string? error = null) => new()
    {
        Scenario = step.Scenario.Name, Server = step.Server.Name, Round = step.Round, Layout = step.Layout, NewProcess = newProcess, Error = error,
    };
}
