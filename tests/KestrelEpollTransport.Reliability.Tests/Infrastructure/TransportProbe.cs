using KestrelEpollTransport.Internal;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>
/// Reaches a running host's event loops (the factory's internal <see cref="EpollTransportFactory.Group"/>), to read
/// their registration tables.
/// </summary>
internal static class TransportProbe
{
    /// <summary>The host's running loops; empty when no listener is bound (the group is stopped).</summary>
    public static IReadOnlyList<EpollEventLoop> Loops(IServiceProvider services)
    {
        var factory = services.GetServices<IConnectionListenerFactory>().OfType<EpollTransportFactory>().Single();
        return factory.Group is { } group ? group.Loops : [];
    }

    /// <summary>Live registrations over all loops: one per listener plus one per open connection.</summary>
    public static int Registrations(IServiceProvider services) => Loops(services).Sum(l => l.RegistrationCount);

    /// <summary>Registrations per loop, for a message.</summary>
    public static string Describe(IServiceProvider services) =>
        string.Join(", ", Loops(services).Select(l => $"loop {l.Id}: {l.RegistrationCount}"));
}
