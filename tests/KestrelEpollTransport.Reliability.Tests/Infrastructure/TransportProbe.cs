using System.Reflection;
using KestrelEpollTransport.Internal;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>
/// Reaches a running host's event loops, to read their registration tables. The factory keeps its loop group in a
/// private field and offers no hook, so this is the one place that uses reflection (a hook is requested in the
/// report of issue 4); if the field is renamed, every test using it fails here with a clear message.
/// </summary>
internal static class TransportProbe
{
    private static readonly FieldInfo GroupField =
        typeof(EpollTransportFactory).GetField("_group", BindingFlags.Instance | BindingFlags.NonPublic)
        ?? throw new InvalidOperationException("EpollTransportFactory has no private field _group any more: update TransportProbe.");

    /// <summary>The host's running loops; empty when no listener is bound (the group is stopped).</summary>
    public static IReadOnlyList<EpollEventLoop> Loops(IServiceProvider services)
    {
        var factory = services.GetServices<IConnectionListenerFactory>().OfType<EpollTransportFactory>().Single();
        return GroupField.GetValue(factory) is EpollEventLoopGroup group ? group.Loops : [];
    }

    /// <summary>Live registrations over all loops: one per listener plus one per open connection.</summary>
    public static int Registrations(IServiceProvider services) => Loops(services).Sum(l => l.RegistrationCount);

    /// <summary>Registrations per loop, for a message.</summary>
    public static string Describe(IServiceProvider services) =>
        string.Join(", ", Loops(services).Select(l => $"loop {l.Id}: {l.RegistrationCount}"));
}
