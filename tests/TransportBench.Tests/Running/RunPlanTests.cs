using TransportBench.Running;
using TransportBench.Servers;

namespace TransportBench.Tests.Running;

/// <summary>
/// The order of a run and which process serves each measurement: round after round; in each scenario every server
/// once, in an order that turns each round; one process per server and round, started at its first scenario, kept
/// for the others; idle always on a process of its own, fairness too unless the kept one already runs as it asks.
/// </summary>
public sealed class RunPlanTests
{
    private static readonly IReadOnlyList<ServerSpec> Servers =
        ServerSpec.Create(new BenchOptions { Servers = ["sockets", "sockets-tuned", "epoll", "floor"] });

    [Fact]
    public void Create_ThreeRounds_ServersAlternateAndTheirOrderTurnsEachRound()
    {
        List<Step> steps = RunPlan.Create([Scenario.Page], Servers, 3, oneCpuOneRuntimeCpu: true);

        Assert.Equal(
        [
            "1 sockets", "1 sockets-tuned", "1 epoll", "1 floor",
            "2 sockets-tuned", "2 epoll", "2 floor", "2 sockets",
            "3 epoll", "3 floor", "3 sockets", "3 sockets-tuned",
        ], steps.Select(s => $"{s.Round} {s.Server.Name}"));
    }

    [Fact]
    public void Create_Round_ScenariosInTheOrderGiven()
    {
        List<Step> steps = RunPlan.Create([Scenario.Page, Scenario.Idle, Scenario.Hello, Scenario.Fairness, Scenario.Tls], Servers, 1, true);

        Assert.Equal(["page", "idle", "hello", "fairness", "tls"], steps.Select(s => s.Scenario.Name).Distinct());
    }

    /// <summary>The floor runs HTTP/1.1 at saturation only: not tls, latency, idle, fairness.</summary>
    [Fact]
    public void Create_Floor_OnlyTheScenariosItServes()
    {
        List<Step> steps = RunPlan.Create(
            [Scenario.Page, Scenario.Latency, Scenario.Tls, Scenario.Hello, Scenario.Idle, Scenario.Fairness], Servers, 1, true);

        Assert.Equal(["page", "hello"], steps.Where(s => s.Server.IsFloor).Select(s => s.Scenario.Name));
    }

    [Fact]
    public void Create_EachRound_ANewProcessAtEachServersFirstScenarioOnly()
    {
        List<Step> steps = RunPlan.Create([Scenario.Page, Scenario.Latency, Scenario.Hello], Servers, 2, true);

        Assert.All(steps, s => Assert.Equal(s.Scenario == Scenario.Page, s.NewProcess));
        Assert.All(steps, s => Assert.False(s.OwnProcess));
    }

    /// <summary>The floor does not serve TLS: its process starts at its first scenario, hello.</summary>
    [Fact]
    public void Create_FloorMissingTheFirstScenario_NewProcessAtItsOwnFirst()
    {
        List<Step> steps = RunPlan.Create([Scenario.Tls, Scenario.Hello, Scenario.Chunks], Servers, 1, true);

        Assert.Equal(["tls sockets", "tls sockets-tuned", "tls epoll", "hello floor"],
            steps.Where(s => s.NewProcess).Select(s => $"{s.Scenario.Name} {s.Server.Name}"));
    }

    /// <summary>Idle needs a fresh process; the kept one is still the next scenario's.</summary>
    [Fact]
    public void Create_Idle_AProcessOfItsOwnEveryTime()
    {
        List<Step> steps = RunPlan.Create([Scenario.Idle, Scenario.Page, Scenario.Idle], Servers, 1, true);

        Assert.All(steps.Where(s => s.Scenario == Scenario.Idle), s => Assert.True(s.NewProcess && s.OwnProcess));
        Assert.All(steps.Where(s => s.Scenario == Scenario.Page), s => Assert.True(s.NewProcess && !s.OwnProcess));
    }

    /// <summary>On one CPU the runtime sees as one, the kept process already has one event loop: fairness shares it.</summary>
    [Fact]
    public void Create_FairnessOnOneCpu_TheKeptProcess()
    {
        List<Step> steps = RunPlan.Create([Scenario.Page, Scenario.Fairness], Servers, 1, oneCpuOneRuntimeCpu: true);

        Assert.All(steps.Where(s => s.Scenario == Scenario.Fairness), s => Assert.False(s.NewProcess || s.OwnProcess));
    }

    [Fact]
    public void Create_FairnessOnMoreCpus_AProcessOfItsOwn()
    {
        List<Step> steps = RunPlan.Create([Scenario.Page, Scenario.Fairness], Servers, 1, oneCpuOneRuntimeCpu: false);

        Assert.All(steps.Where(s => s.Scenario == Scenario.Fairness), s => Assert.True(s.NewProcess && s.OwnProcess));
    }

    /// <summary>--threads 1,2: epoll-t2 asks for two loops, so fairness's one loop needs a process of its own.</summary>
    [Fact]
    public void Create_FairnessWithAThreadCountAboveOne_AProcessOfItsOwnForThatServer()
    {
        IReadOnlyList<ServerSpec> servers = ServerSpec.Create(new BenchOptions { Servers = ["sockets", "epoll"], Threads = [1, 2] });

        List<Step> steps = RunPlan.Create([Scenario.Page, Scenario.Fairness], servers, 1, oneCpuOneRuntimeCpu: true);

        Assert.Equal(["epoll-t2"], steps.Where(s => s.OwnProcess).Select(s => s.Server.Name));
    }
}
