namespace TransportBench.Running;

/// <summary>Measures one <see cref="Step"/>: warm-up until the JIT is quiet → timed run (<see cref="NoiseRetry"/>) → a
/// syscall-counting pass; each server keeps one process for the round (docs/benchmarks.md, "Rounds, processes and warm-ups").</summary>
internal sealed class Measurer(
    BenchOptions options, CoreLayout cores, string sampleDirectory, string? perfUnavailable, BenchCertificate certificate, Progress progress)
    : IDisposable
{
    /// <summary>How long a warm-up goes on, past its rule, for a load run that completes a response (<see cref="WarmUpAsync"/>).</summary>
    private static readonly TimeSpan FirstResponseLimit = TimeSpan.FromSeconds(30);
    // The processes kept for the current round, by server name. Used by the run's flow only, one step at a time.
    private readonly Dictionary<string, ServerProcess> _servers = [];
    private LoadHelperProcess? _floor;
    private int _round;

    /// <summary>Measures; a failure of the load or the counters lands in <see cref="RoundSample.Error"/>.</summary>
    /// <param name="rate">The latency scenario's offered load, once known.</param>
    /// <exception cref="ServerStartException">The server did not start.</exception>
    public async Task<RoundSample> MeasureAsync(Step step, double? rate, CancellationToken cancellationToken)
    {
        if (step.Round != _round)
        {
            // Every round starts its servers afresh.
            StopServers();
            _round = step.Round;
        }
        if (step.Server.IsFloor)
        {
            return await MeasureFloorAsync(step, cancellationToken);
        }
        if (step.OwnProcess)
        {
            using ServerProcess own = await StartAsync(step.Server, step.Scenario.Kind == ScenarioKind.Fairness, cancellationToken);
            return await MeasureAsync(own, newProcess: true, step, rate, cancellationToken);
        }
        bool newProcess = !_servers.TryGetValue(step.Server.Name, out ServerProcess? kept) || kept.HasExited;
        if (newProcess)
        {
            // Not started yet this round, or it died in an earlier scenario: a new one, warmed up from the start.
            kept?.Dispose();
            _servers.Remove(step.Server.Name);
        }
        ServerProcess server = newProcess ? _servers[step.Server.Name] = await StartAsync(step.Server, oneLoop: false, cancellationToken) : kept!;
        return await MeasureAsync(server, newProcess, step, rate, cancellationToken);
    }

    public void Dispose() => StopServers();

    private void StopServers()
    {
        foreach (ServerProcess server in _servers.Values)
        {
            server.Dispose();
        }
        _servers.Clear();
        _floor?.Dispose();
        _floor = null;
    }

    /// <param name="oneLoop">Fairness: one server CPU and one event loop, whatever the machine.</param>
    private Task<ServerProcess> StartAsync(ServerSpec spec, bool oneLoop, CancellationToken cancellationToken) => ServerProcess.StartAsync(
        spec, ServerSetup.Create(certificate, oneLoop), sampleDirectory, oneLoop ? cores.WithOneServerCpu() : cores, cancellationToken);

    private async Task<RoundSample> MeasureAsync(ServerProcess server, bool newProcess, Step step, double? rate, CancellationToken cancellationToken)
    {
        Scenario scenario = step.Scenario;
        RoundSample sample = RoundSample.Of(step, newProcess);
        sample.Identity = server.Identity;
        // A new process's peak includes its start, as it always did; a kept one's starts with this scenario.
        bool peakKnown = newProcess || ProcStats.TryResetPeakRss(server.Pid);
        try
        {
            if (scenario.Kind == ScenarioKind.Idle)
            {
                sample.Idle = await IdleConnections.MeasureAsync(server, options.IdleConnections, cancellationToken);
                sample.SyscallsUnavailable = "idle: no requests to divide by";
            }
            else
            {
                // Every kind warms up at saturation (the fixed rate too), so every server enters the timed run settled.
                // The responses each run completed; fairness's are not counted (a starved small client is a finding).
                Func<TimeSpan, Task<long?>> load = scenario.Kind == ScenarioKind.Fairness
                    ? async time =>
                    {
                        await FairnessAsync(server, scenario, time, cancellationToken);
                        return null;
                    }
                    : async time => (await LoadAsync(server, scenario, time, cancellationToken)).Requests;
                (double seconds, List<long> jitSteps, bool settled) =
                    await WarmUpAsync(server, load, WarmupRule.Least(options.Warmup, newProcess), cancellationToken);
                // Each attempt at the timed run fills a sample of its own; the quietest is kept.
                RoundSample Attempt()
                {
                    RoundSample attempt = RoundSample.Of(step, newProcess);
                    (attempt.Identity, attempt.WarmupSeconds, attempt.WarmupJitSteps, attempt.JitSettled) = (server.Identity, seconds, jitSteps, settled);
                    return attempt;
                }
                sample = await NoiseRetry.MeasureAsync(() => TimedAsync(server, scenario, rate, Attempt(), cancellationToken),
                    options.MaxNoisePercent, progress.Note);
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
        else if (peakKnown)
        {
            sample.PeakRssKib = ProcStats.PeakRssKib(server.Pid);
        }
        return sample;
    }

    /// <summary>One attempt at the timed run and the syscall pass; a failure of either lands in the sample's error.</summary>
    private async Task<RoundSample> TimedAsync(ServerProcess server, Scenario scenario, double? rate, RoundSample sample, CancellationToken cancellationToken)
    {
        try
        {
            await (scenario.Kind == ScenarioKind.Fairness
                ? MeasureFairnessAsync(sample, server, scenario, cancellationToken)
                : MeasureRequestsAsync(sample, server, scenario, rate, cancellationToken));
        }
        catch (InvalidOperationException e)
        {
            sample.Error = e.Message;
        }
        return sample;
    }

    /// <summary>The floor: the load helper on the server CPUs with the servers' environment, kept for the round.</summary>
    private async Task<RoundSample> MeasureFloorAsync(Step step, CancellationToken cancellationToken)
    {
        bool newProcess = _floor is null || _floor.HasExited;
        if (newProcess)
        {
            _floor?.Dispose();
            _floor = new LoadHelperProcess(cores.ServerCpus, step.Server.Environment);
        }
        TimeSpan duration = options.DurationOf(step.Scenario);
        var job = new FloorJob(sampleDirectory, step.Scenario.Name, WarmupRule.Least(options.Warmup, newProcess).TotalSeconds,
            options.WarmupLimit.TotalSeconds, duration.TotalSeconds);
        FloorResult result = (await _floor!.RunAsync(new HelperJob(Floor: job), options.WarmupLimit + duration + TimeSpan.FromSeconds(60), cancellationToken)).Floor!;
        return new RoundSample
        {
            Scenario = step.Scenario.Name, Server = ServerSpec.FloorName, Round = step.Round, Layout = step.Layout, NewProcess = newProcess,
            Identity = new ServerIdentity("in-memory pipes (no sockets)", result.ProcessorCount, result.ServerGc ? "server" : "workstation"),
            Requests = result.Requests, RequestsPerSecond = result.Requests / result.Seconds,
            CpuMicrosPerRequest = result.KestrelCpuMicrosPerRequest, ClientCpuMicrosPerRequest = result.ClientCpuMicrosPerRequest,
            AllocatedBytesPerRequest = result.AllocatedBytesPerRequest, PeakRssKib = result.PeakRssKib,
            WarmupSeconds = result.WarmupSeconds, WarmupJitSteps = result.WarmupJitSteps, JitSettled = result.JitSettled,
            SyscallsUnavailable = "no sockets: nothing to count", Error = result.Error,
        };
    }

    /// <summary>The fairness clients, in a load helper of their own pinned to the load CPUs like wrk.</summary>
    private async Task<FairnessResult> FairnessAsync(ServerProcess server, Scenario scenario, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var helper = new LoadHelperProcess(cores.LoadCpus, null);
        // The clients bound each of their waits; this catches a wedged helper.
        HelperReply reply = await helper.RunAsync(new HelperJob(Fairness: new FairnessJob(server.Port, scenario.Name, duration.TotalSeconds)),
            duration + TimeSpan.FromSeconds(40), cancellationToken);
        return reply.Fairness!;
    }

    /// <summary>The scenario's saturating load: h2load for HTTP/2, wrk for the rest.</summary>
    private Task<LoadResult> LoadAsync(ServerProcess server, Scenario scenario, TimeSpan duration, CancellationToken cancellationToken) =>
        scenario.Protocol == WireProtocol.H2c
            ? H2Load.RunThroughputAsync(server.LoadUrl(scenario), scenario, duration, cores, cancellationToken)
            : WrkClient.RunAsync(server.LoadUrl(scenario), scenario, duration, cores, cancellationToken);

    /// <summary>The timed run of a scenario that counts requests (at saturation, or h2load at the fixed rate) with the
    /// server's CPU and allocation counters read around it, then the syscall pass under the same load.</summary>
    private async Task MeasureRequestsAsync(RoundSample sample, ServerProcess server, Scenario scenario, double? rate, CancellationToken cancellationToken)
    {
        // One run of the load; its figures go into `into` when given. Returns its requests and why it cannot be used.
        async Task<(long Requests, string? Failure)> RunAsync(TimeSpan duration, RoundSample? into)
        {
            if (scenario.Kind == ScenarioKind.FixedRate)
            {
                FixedRateResult fixedRate = await H2Load.RunFixedRateAsync(
                    server.BaseUrl, scenario, rate ?? throw new InvalidOperationException("No rate."), duration, cores, cancellationToken);
                into?.FixedRate = fixedRate;
                into?.RequestsPerSecond = fixedRate.AchievedRate;
                return (fixedRate.Requests, fixedRate.Failed > 0 ? $"h2load: {fixedRate.Failed} requests failed" : null);
            }
            LoadResult load = await LoadAsync(server, scenario, duration, cancellationToken);
            into?.Load = load;
            into?.RequestsPerSecond = load.RequestsPerSecond;
            return (load.Requests, load.Failure);
        }

        ServerCounters? counters0 = await CounterReader.ReadAsync(server.CountersSocket, cancellationToken);
        var window = new CpuWindow(server.Pid, cores);
        (long requests, string? failure) = await RunAsync(options.DurationOf(scenario), sample);
        CpuUse cpu = sample.Cpu = window.Stop();
        ServerCounters? counters1 = await CounterReader.ReadAsync(server.CountersSocket, cancellationToken);

        sample.Requests = requests;
        sample.AllocatedBytesPerRequest = CounterReader.AllocatedPerRequest(counters0, counters1, requests);
        if (requests > 0)
        {
            sample.CpuMicrosPerRequest = cpu.ServerCpu.TotalMicroseconds / requests;
            sample.KernelMicrosPerRequest = cpu.ServerKernelCpu.TotalMicroseconds / requests;
        }
        if (failure is not null)
        {
            sample.Error = failure;
            return;
        }
        await CountSyscallsAsync(sample, server, async () => (await RunAsync(options.PerfDuration, null)).Requests, cancellationToken);
    }

    /// <summary>Fairness: no CPU per request and no syscall pass (the flood is a single request).</summary>
    private async Task MeasureFairnessAsync(RoundSample sample, ServerProcess server, Scenario scenario, CancellationToken cancellationToken)
    {
        var window = new CpuWindow(server.Pid, cores.WithOneServerCpu());
        FairnessResult fairness = await FairnessAsync(server, scenario, options.DurationOf(scenario), cancellationToken);
        sample.Cpu = window.Stop();
        sample.Fairness = fairness;
        sample.Requests = fairness.RoundTrips;
        sample.RequestsPerSecond = fairness.RoundTripsPerSecond;
        sample.SyscallsUnavailable = "fairness: no per-request figure (the flood is one endless request)";
        sample.Error = fairness.Error;
    }

    /// <summary>Load until the server's JIT is quiet (<see cref="WarmupRule"/>); then, while the last load run completed
    /// nothing, a <see cref="WarmupRule.Step"/> more, for <see cref="FirstResponseLimit"/> at most (docs/benchmarks.md).</summary>
    private async Task<(double Seconds, List<long> JitSteps, bool Settled)> WarmUpAsync(
        ServerProcess server, Func<TimeSpan, Task<long?>> load, TimeSpan least, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var steps = new List<long>();
        long? served = null;
        bool settled = await WarmupRule.RunAsync(least, options.WarmupLimit, async time => served = await load(time),
            async () => (await CounterReader.ReadAsync(server.CountersSocket, cancellationToken))?.JitCompiledMethods, () => started.Elapsed, steps);
        while (served == 0 && started.Elapsed < FirstResponseLimit && !server.HasExited)
        {
            served = await load(WarmupRule.Step);
        }
        return (started.Elapsed.TotalSeconds, steps, settled);
    }

    private async Task CountSyscallsAsync(RoundSample sample, ServerProcess server, Func<Task<long>> load, CancellationToken cancellationToken)
    {
        if (perfUnavailable is not null)
        {
            sample.SyscallsUnavailable = perfUnavailable;
            return;
        }
        try
        {
            sample.Syscalls = await PerfStat.CountAsync(server.Pid, options.PerfDuration, load, cancellationToken);
        }
        catch (InvalidOperationException e) when (PerfStat.FailedOnAThreadThatEnded(e.Message))
        {
            // A pool thread retired while perf attached: count once more.
            sample.Syscalls = await PerfStat.CountAsync(server.Pid, options.PerfDuration, load, cancellationToken);
        }
    }
}
