namespace TransportBench.Measure;

/// <summary>What the CPUs did during a timed run (docs/benchmarks.md, "Server / load CPU busy %", "Noise %").</summary>
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
