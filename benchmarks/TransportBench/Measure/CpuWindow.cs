using System.Diagnostics;
using TransportBench.Cli;

namespace TransportBench.Measure;

/// <summary>What the CPUs did during a timed run.</summary>
/// <param name="ServerCpu">The server's utime + stime.</param>
/// <param name="ServerBusyPercent">That, as a share of the server CPUs' time: below ~90 % at saturation, something
/// other than the server set the pace (the load generator, another tenant, the scheduler).</param>
/// <param name="LoadBusyPercent">How busy the load CPUs were (load generator and anything else): near 100 %, the
/// load side was the limit.</param>
/// <param name="ForeignPercent">CPU time other processes took on the server CPUs, as a share of their time: the noise
/// of a shared machine (the load generator runs elsewhere, so ideally 0).</param>
internal sealed record CpuUse(TimeSpan ServerCpu, double ServerBusyPercent, double LoadBusyPercent, double ForeignPercent);

/// <summary>Reads the server's CPU time and the machine's per-CPU counters around a timed run.</summary>
internal sealed class CpuWindow
{
    private readonly int _pid;
    private readonly IReadOnlyList<int> _serverCpus;
    private readonly IReadOnlyList<int> _loadCpus;
    private readonly TimeSpan _server0;
    private readonly TimeSpan _serverCpusBusy0;
    private readonly TimeSpan _loadCpusBusy0;
    private readonly long _start;

    private CpuWindow(int pid, CoreLayout cores)
    {
        _pid = pid;
        _serverCpus = cores.ServerCpuList;
        _loadCpus = cores.LoadCpuList;
        _server0 = ProcStats.CpuTime(pid);
        _serverCpusBusy0 = ProcStats.CpuBusy(_serverCpus);
        _loadCpusBusy0 = ProcStats.CpuBusy(_loadCpus);
        _start = Stopwatch.GetTimestamp();
    }

    public static CpuWindow Start(int pid, CoreLayout cores) => new(pid, cores);

    public CpuUse Stop()
    {
        TimeSpan server = ProcStats.CpuTime(_pid) - _server0;
        TimeSpan serverCpusBusy = ProcStats.CpuBusy(_serverCpus) - _serverCpusBusy0;
        TimeSpan loadCpusBusy = ProcStats.CpuBusy(_loadCpus) - _loadCpusBusy0;
        double wall = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        return new CpuUse(
            server,
            server.TotalSeconds / (wall * _serverCpus.Count) * 100,
            loadCpusBusy.TotalSeconds / (wall * _loadCpus.Count) * 100,
            Math.Max(0, (serverCpusBusy - server).TotalSeconds) / (wall * _serverCpus.Count) * 100);
    }
}
