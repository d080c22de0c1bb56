namespace TransportBench.Floor;

/// <summary>What the floor child measured, sent to the runner as one JSON line on standard output.</summary>
/// <param name="Requests">Responses completed during the timed part.</param>
/// <param name="Seconds">Length of the timed part.</param>
/// <param name="KestrelCpuMicrosPerRequest">Process CPU minus the client thread's, per request.</param>
/// <param name="ClientCpuMicrosPerRequest">The client thread's CPU per request.</param>
/// <param name="AllocatedBytesPerRequest">GC allocations of the whole process per request (the client allocates none).</param>
/// <param name="PeakRssKib">VmHWM at the end.</param>
/// <param name="ProcessorCount">Environment.ProcessorCount in the child.</param>
/// <param name="ServerGc">Whether the child runs server GC.</param>
/// <param name="Error">Why the run failed, or null.</param>
internal sealed record FloorResult(
    long Requests,
    double Seconds,
    double KestrelCpuMicrosPerRequest,
    double ClientCpuMicrosPerRequest,
    double AllocatedBytesPerRequest,
    long PeakRssKib,
    int ProcessorCount,
    bool ServerGc,
    string? Error)
{
    public const string Prefix = "FLOOR_RESULT ";
}
