namespace TransportBench.Measure;

/// <summary>What the CPUs did during a timed run.</summary>
/// <param name="ServerCpu">The server's utime + stime.</param>
/// <param name="ServerKernelCpu">Its stime alone: the kernel's work for it (syscalls, loopback TCP, wake-ups; TLS crypto is user time).</param>
/// <param name="ServerBusyPercent">That, as a share of the server CPUs' time: below ~90 % at saturation, something
/// other than the server set the pace (the load generator, another tenant, the scheduler).</param>
/// <param name="LoadBusyPercent">How busy the load CPUs were (load generator and anything else): near 100 %, the
/// load side was the limit.</param>
/// <param name="ForeignPercent">CPU time other processes took on the server CPUs, as a share of their time: the noise
/// of a shared machine (the load generator runs elsewhere, so ideally 0).</param>
internal sealed record CpuUse(TimeSpan ServerCpu, TimeSpan ServerKernelCpu, double ServerBusyPercent, double LoadBusyPercent, double ForeignPercent);

/// <summary>Reads the server's CPU time and the machine's per-CPU counters around a timed run.</summary>
internal sealed class CpuWindow(int pid, CoreLayout cores)
{
    private readonly IReadOnlyList<int> _serverCpus = cores.ServerCpuList;
    private readonly IReadOnlyList<int> _loadCpus = cores.LoadCpuList;
    private readonly (TimeSpan User, TimeSpan System) _server0 = ProcStats.CpuTimes(pid);
    private readonly TimeSpan _serverCpusBusy0 = ProcStats.CpuBusy(cores.ServerCpuList);
    private readonly TimeSpan _loadCpusBusy0 = ProcStats.CpuBusy(cores.LoadCpuList);
    private readonly long _start = Stopwatch.GetTimestamp();

    public static CpuWindow Start(int pid, CoreLayout cores) => new(pid, cores);

    public CpuUse Stop()
    {
        (TimeSpan user, TimeSpan system) = ProcStats.CpuTimes(pid);
        TimeSpan kernel = system - _server0.System;
        TimeSpan server = user - _server0.User + kernel;
        TimeSpan serverCpusBusy = ProcStats.CpuBusy(_serverCpus) - _serverCpusBusy0;
        TimeSpan loadCpusBusy = ProcStats.CpuBusy(_loadCpus) - _loadCpusBusy0;
        double wall = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        return new CpuUse(server, kernel, server.TotalSeconds / (wall * _serverCpus.Count) * 100,
            loadCpusBusy.TotalSeconds / (wall * _loadCpus.Count) * 100,
            Math.Max(0, (serverCpusBusy - server).TotalSeconds) / (wall * _serverCpus.Count) * 100);
    }
}
