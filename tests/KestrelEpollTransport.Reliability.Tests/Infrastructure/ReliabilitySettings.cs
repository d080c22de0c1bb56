using System.Globalization;

namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>
/// The sizes of the long tests. CI runs the defaults (its short forms); the environment variables run the long forms
/// (docs/reliability.md), e.g. <c>RELIABILITY_CHURN_CYCLES=100000 dotnet test ...</c>.
/// </summary>
public static class ReliabilitySettings
{
    /// <summary>How long the stress mix runs against Epoll (RELIABILITY_STRESS_SECONDS; default 60).</summary>
    public static TimeSpan StressDuration => TimeSpan.FromSeconds(Read("RELIABILITY_STRESS_SECONDS", 60));

    /// <summary>Connect/request/close cycles of the churn test on Epoll (RELIABILITY_CHURN_CYCLES; default 100,000: about 20 s here).</summary>
    public static int ChurnCycles => Read("RELIABILITY_CHURN_CYCLES", 100_000);

    /// <summary>Concurrent keep-alive connections of the many-connections test (RELIABILITY_CONNECTIONS; default 10,000).</summary>
    public static int Connections => Read("RELIABILITY_CONNECTIONS", 10_000);

    private static int Read(string name, int fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture)
            : fallback;
}
