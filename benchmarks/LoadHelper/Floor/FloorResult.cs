namespace TransportBench.Floor;

/// <summary>What the floor measured in one scenario, the load helper's reply to a <see cref="LoadHelper.FloorJob"/>.</summary>
/// <param name="Requests">Responses completed during the timed part.</param>
/// <param name="Seconds">Length of the timed part.</param>
/// <param name="KestrelCpuMicrosPerRequest">Process CPU minus the client thread's, per request.</param>
/// <param name="ClientCpuMicrosPerRequest">The client thread's CPU per request.</param>
/// <param name="AllocatedBytesPerRequest">GC allocations of the whole process per request (the client allocates none).</param>
/// <param name="PeakRssKib">VmHWM at the end of the scenario (reset at its start but for the first), or null when the
/// kernel would not reset it.</param>
/// <param name="ProcessorCount">Environment.ProcessorCount in the child.</param>
/// <param name="ServerGc">Whether the child runs server GC.</param>
/// <param name="WarmupSeconds">Load before the timed part.</param>
/// <param name="WarmupJitSteps">Methods the JIT compiled in each warm-up step after the least warm-up.</param>
/// <param name="JitSettled">Whether the JIT went quiet within the warm-up.</param>
/// <param name="Error">Why the run failed, or null.</param>
internal sealed record FloorResult(
    long Requests,
    double Seconds,
    double KestrelCpuMicrosPerRequest,
    double ClientCpuMicrosPerRequest,
    double AllocatedBytesPerRequest,
    long? PeakRssKib,
    int ProcessorCount,
    bool ServerGc,
    double WarmupSeconds,
    IReadOnlyList<long> WarmupJitSteps,
    bool JitSettled,
    string? Error);
