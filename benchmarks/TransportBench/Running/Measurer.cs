using TransportBench.Cli;
using TransportBench.Fairness;
using TransportBench.Floor;
using TransportBench.Load;
using TransportBench.Measure;
using TransportBench.Results;
using TransportBench.Servers;

namespace TransportBench.Running;

/// <summary>
/// Measures one server once in one scenario, in a fresh server process (so peak RSS belongs to this scenario):
/// start → warm-up → timed run with CPU and allocation counters read around it → a separate syscall-counting pass.
/// </summary>
/// <param name="certificate">The TLS scenarios' certificate; null when the run has none.</param>
internal sealed class Measurer(
    BenchOptions options, CoreLayout cores, string sampleDirectory, string? perfUnavailable, BenchCertificate? certificate, Progress progress)
{
    /// <summary>Measures; a failure of the load or the counters lands in <see cref="RoundSample.Error"/>.</summary>
    /// <exception cref="ServerStartException">The server did not start.</exception>
    public async Task<RoundSample> MeasureAsync(
        Scenario scenario, ServerSpec spec, int round, double? rate, CancellationToken cancellationToken)
    {
        var sample = new RoundSample { Scenario = scenario.Name, Server = spec.Name, Round = round };
        TimeSpan duration = options.DurationOf(scenario);
        if (spec.IsFloor)
        {
            progress.Phase("in-memory floor: warm-up and timed run", options.Warmup + duration);
            await FloorLauncher.FillAsync(sample, scenario, spec, options, cores, sampleDirectory, cancellationToken);
            return sample;
        }

        // Fairness asks what one CPU and one loop do with two connections, whatever the machine.
        CoreLayout serverCores = scenario.Kind == ScenarioKind.Fairness ? cores.WithOneServerCpu() : cores;
        progress.Phase("starting", TimeSpan.FromSeconds(2));
        using ServerProcess server = await ServerProcess.StartAsync(
            spec, ServerSetup.For(scenario, certificate), sampleDirectory, serverCores, cancellationToken);
        sample.Identity = server.Identity;
        try
        {
            switch (scenario.Kind)
            {
                case ScenarioKind.Throughput:
                    await MeasureThroughputAsync(sample, server, scenario, duration, cancellationToken);
                    break;
                case ScenarioKind.FixedRate:
                    await MeasureFixedRateAsync(sample, server, scenario, rate ?? throw new InvalidOperationException("No rate."), duration, cancellationToken);
                    break;
                case ScenarioKind.Fairness:
                    await MeasureFairnessAsync(sample, server, scenario, serverCores, duration, cancellationToken);
                    break;
                case ScenarioKind.Idle:
                    progress.Phase($"opening {options.IdleConnections:N0} idle connections", TimeSpan.FromSeconds(5));
                    sample.Idle = await IdleConnections.MeasureAsync(server, options.IdleConnections, cancellationToken);
                    sample.SyscallsUnavailable = "idle: no requests to divide by";
                    break;
            }
        }
        catch (InvalidOperationException e)
        {
            sample.Error = e.Message;
        }
        if (server.HasExited)
        {
            sample.Error ??= $"the server exited during the run. Its last output:\n{server.OutputTail()}";
        }
        else
        {
            sample.PeakRssKib = ProcStats.PeakRssKib(server.Pid);
        }
        return sample;
    }

    /// <summary>Saturation with wrk: the rate a server sustains on one scenario (used to derive the latency rate).</summary>
    public async Task<double> ProbeSaturationAsync(Scenario scenario, ServerSpec spec, CancellationToken cancellationToken)
    {
        using ServerProcess server = await ServerProcess.StartAsync(spec, ServerSetup.For(scenario, certificate), sampleDirectory, cores, cancellationToken);
        progress.Phase("probing saturation", options.Warmup + options.DurationOf(scenario));
        await LoadAsync(server, scenario, options.Warmup, cancellationToken);
        return (await LoadAsync(server, scenario, options.DurationOf(scenario), cancellationToken)).RequestsPerSecond;
    }

    /// <summary>The scenario's saturating load: h2load for HTTP/2, wrk for the rest.</summary>
    private Task<LoadResult> LoadAsync(ServerProcess server, Scenario scenario, TimeSpan duration, CancellationToken cancellationToken) =>
        scenario.Protocol == WireProtocol.H2c
            ? H2LoadThroughput.RunAsync(server.LoadUrl, scenario, duration, cores, cancellationToken)
            : WrkClient.RunAsync(server.LoadUrl, scenario, duration, cores, cancellationToken);

    private async Task MeasureThroughputAsync(
        RoundSample sample, ServerProcess server, Scenario scenario, TimeSpan duration, CancellationToken cancellationToken)
    {
        await WarmUpAsync(sample, server, step => LoadAsync(server, scenario, step, cancellationToken), cancellationToken);

        progress.Phase("timed run", duration);
        long? allocated0 = await AllocationCounter.ReadAsync(server.BaseUrl, cancellationToken);
        var window = CpuWindow.Start(server.Pid, cores);
        LoadResult load = await LoadAsync(server, scenario, duration, cancellationToken);
        CpuUse cpu = sample.Cpu = window.Stop();
        long? allocated1 = await AllocationCounter.ReadAsync(server.BaseUrl, cancellationToken);

        sample.Load = load;
        sample.Requests = load.Requests;
        sample.RequestsPerSecond = load.RequestsPerSecond;
        SetCpuPerRequest(sample, cpu, load.Requests);
        sample.AllocatedBytesPerRequest = AllocationCounter.PerRequest(allocated0, allocated1, load.Requests);
        if (load.Failure is string failure)
        {
            sample.Error = failure;
            return;
        }

        await CountSyscallsAsync(sample, server, async () =>
            (await LoadAsync(server, scenario, options.PerfDuration, cancellationToken)).Requests,
            cancellationToken);
    }

    private async Task MeasureFixedRateAsync(
        RoundSample sample, ServerProcess server, Scenario scenario, double rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        // Warm up at saturation, as the throughput scenarios do, so every server enters the timed run with its JIT
        // and pools in the same settled state.
        await WarmUpAsync(sample, server, step => LoadAsync(server, scenario, step, cancellationToken), cancellationToken);

        progress.Phase($"timed run at {rate:N0} req/s", duration);
        long? allocated0 = await AllocationCounter.ReadAsync(server.BaseUrl, cancellationToken);
        var window = CpuWindow.Start(server.Pid, cores);
        FixedRateResult fixedRate = await H2LoadClient.RunAsync(server.BaseUrl, scenario, rate, duration, cores, cancellationToken);
        CpuUse cpu = sample.Cpu = window.Stop();
        long? allocated1 = await AllocationCounter.ReadAsync(server.BaseUrl, cancellationToken);

        sample.FixedRate = fixedRate;
        sample.Requests = fixedRate.Requests;
        sample.RequestsPerSecond = fixedRate.AchievedRate;
        SetCpuPerRequest(sample, cpu, fixedRate.Requests);
        sample.AllocatedBytesPerRequest = AllocationCounter.PerRequest(allocated0, allocated1, fixedRate.Requests);
        if (fixedRate.Failed > 0)
        {
            sample.Error = $"h2load: {fixedRate.Failed} requests failed";
            return;
        }

        await CountSyscallsAsync(sample, server, async () =>
            (await H2LoadClient.RunAsync(server.BaseUrl, scenario, rate, options.PerfDuration, cores, cancellationToken)).Requests,
            cancellationToken);
    }

    /// <summary>
    /// Fairness (issue 10): the flood and the small round trips from the runner's own client, pinned to the load CPUs;
    /// the server on one CPU. The figures are the small connection's latency and the flood's throughput, so there is
    /// no CPU per request and no syscall pass (the flood is a single request).
    /// </summary>
    private async Task MeasureFairnessAsync(
        RoundSample sample, ServerProcess server, Scenario scenario, CoreLayout serverCores, TimeSpan duration, CancellationToken cancellationToken)
    {
        await WarmUpAsync(sample, server, step => FairnessLauncher.RunAsync(server.Port, scenario, step, cores, cancellationToken), cancellationToken);

        progress.Phase("timed run: flood and small round trips", duration);
        var window = CpuWindow.Start(server.Pid, serverCores);
        FairnessResult fairness = await FairnessLauncher.RunAsync(server.Port, scenario, duration, cores, cancellationToken);
        sample.Cpu = window.Stop();

        sample.Fairness = fairness;
        sample.Requests = fairness.RoundTrips;
        sample.RequestsPerSecond = fairness.RoundTripsPerSecond;
        sample.SyscallsUnavailable = "fairness: no per-request figure (the flood is one endless request)";
        sample.Error = fairness.Error;
    }

    private static void SetCpuPerRequest(RoundSample sample, CpuUse cpu, long requests)
    {
        if (requests > 0)
        {
            sample.CpuMicrosPerRequest = cpu.ServerCpu.TotalMicroseconds / requests;
            sample.KernelMicrosPerRequest = cpu.ServerKernelCpu.TotalMicroseconds / requests;
        }
    }

    /// <summary>Load at saturation until the server's JIT is quiet (<see cref="WarmupRule"/>), timed for the report.</summary>
    private async Task WarmUpAsync(RoundSample sample, ServerProcess server, Func<TimeSpan, Task> load, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        sample.JitSettled = await WarmupRule.RunAsync(
            options.Warmup,
            options.WarmupLimit,
            (time, phase) =>
            {
                progress.Phase(phase, time);
                return load(time);
            },
            () => AllocationCounter.ReadJitCompiledMethodsAsync(server.BaseUrl, cancellationToken),
            () => started.Elapsed,
            sample.WarmupJitSteps);
        sample.WarmupSeconds = started.Elapsed.TotalSeconds;
    }

    private async Task CountSyscallsAsync(RoundSample sample, ServerProcess server, Func<Task<long>> load, CancellationToken cancellationToken)
    {
        if (perfUnavailable is not null)
        {
            sample.SyscallsUnavailable = perfUnavailable;
            return;
        }
        progress.Phase("counting syscalls (perf)", options.PerfDuration + TimeSpan.FromSeconds(1.5));
        sample.Syscalls = await PerfStat.CountAsync(server.Pid, options.PerfDuration, load, cancellationToken);
    }
}
