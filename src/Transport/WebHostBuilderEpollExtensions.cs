using KestrelEpollTransport;
using KestrelEpollTransport.Internal;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Plugs the epoll transport into Kestrel.</summary>
public static class WebHostBuilderEpollExtensions
{
    /// <summary>
    /// Makes Kestrel serve every endpoint the epoll transport can bind (TCP over IPv4 and IPv6, Unix domain sockets,
    /// listening fds handed in with ListenHandle) over its own epoll
    /// event loops instead of the Sockets transport. Linux only: on another OS the host fails to start with a
    /// <see cref="PlatformNotSupportedException"/>. Options are read from the configuration section
    /// <c>Kestrel:EpollTransport</c> (e.g. <c>"Kestrel": { "EpollTransport": { "ThreadCount": 4 } }</c>).
    /// </summary>
    /// <param name="hostBuilder">The web host builder, e.g. <c>builder.WebHost</c>.</param>
    /// <returns>The same builder.</returns>
    public static IWebHostBuilder UseEpollTransport(this IWebHostBuilder hostBuilder) => hostBuilder.UseEpollTransport(static _ => { });

    /// <summary>
    /// As <see cref="UseEpollTransport(IWebHostBuilder)"/>, with options set in code (applied after the configuration
    /// section <c>Kestrel:EpollTransport</c>, so code wins). The options are validated
    /// when the host starts; an invalid value fails the start with an <see cref="OptionsValidationException"/>
    /// naming the option.
    /// </summary>
    /// <param name="hostBuilder">The web host builder, e.g. <c>builder.WebHost</c>.</param>
    /// <param name="configureOptions">Sets the transport's options.</param>
    /// <returns>The same builder.</returns>
    public static IWebHostBuilder UseEpollTransport(this IWebHostBuilder hostBuilder, Action<EpollTransportOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(hostBuilder);
        ArgumentNullException.ThrowIfNull(configureOptions);
        return hostBuilder.ConfigureServices(services =>
        {
            // Configuration first (section Kestrel:EpollTransport), then code: what code sets wins.
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<EpollTransportOptions>, EpollTransportOptionsSetup>());
            services.AddOptions<EpollTransportOptions>().Configure(configureOptions).ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EpollTransportOptions>, EpollTransportOptionsValidator>());
            // Kestrel asks the factories registered last first; this one serves what CanBind accepts (IP, Unix
            // sockets, inherited listening fds) and leaves the rest (named pipes) to the transports registered before it.
            // TryAddEnumerable, not TryAddSingleton: UseKestrel has registered the Sockets factory (with
            // TryAddSingleton) before an app's code runs, and a TryAddSingleton here would then add nothing. Added
            // beside it, once however often this is called.
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IConnectionListenerFactory, EpollTransportFactory>());
        });
    }
}
