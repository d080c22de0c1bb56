using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// Applies the configuration section <c>Kestrel:EpollTransport</c> (appsettings.json, environment variables such as
/// <c>Kestrel__EpollTransport__ThreadCount</c>, command line) to <see cref="EpollTransportOptions"/>, before any options
/// set in code. Each option is read by name, without reflection, so trimming and NativeAOT keep working; a value that
/// does not parse fails the start with the key's name.
/// </summary>
internal sealed class EpollTransportOptionsSetup(IConfiguration? configuration = null) : IConfigureOptions<EpollTransportOptions>
{
    public const string SectionName = "Kestrel:EpollTransport";

    public void Configure(EpollTransportOptions options)
    {
        if (configuration is null)
        {
            return;
        }
        var section = configuration.GetSection(SectionName);
        var failures = new List<string>();
        ReadInt(section, nameof(EpollTransportOptions.ThreadCount), failures, value => options.ThreadCount = value);
        ReadInt(section, nameof(EpollTransportOptions.Backlog), failures, value => options.Backlog = value);
        ReadBool(section, nameof(EpollTransportOptions.NoDelay), failures, value => options.NoDelay = value);
        ReadSize(section, nameof(EpollTransportOptions.MaxReadBufferSize), failures, value => options.MaxReadBufferSize = value);
        ReadSize(section, nameof(EpollTransportOptions.MaxWriteBufferSize), failures, value => options.MaxWriteBufferSize = value);
        ReadInt(section, nameof(EpollTransportOptions.FdHeadroom), failures, value => options.FdHeadroom = value);
        ReadBool(section, nameof(EpollTransportOptions.UnsafePreferInlineScheduling), failures, value => options.UnsafePreferInlineScheduling = value);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(EpollTransportOptions), failures);
        }
    }

    private static void ReadInt(IConfigurationSection section, string key, List<string> failures, Action<int> set)
    {
        if (section[key] is { } text)
        {
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            {
                set(value);
            }
            else
            {
                failures.Add(Describe(key, text, "an integer"));
            }
        }
    }

    private static void ReadBool(IConfigurationSection section, string key, List<string> failures, Action<bool> set)
    {
        if (section[key] is { } text)
        {
            if (bool.TryParse(text, out bool value))
            {
                set(value);
            }
            else
            {
                failures.Add(Describe(key, text, "true or false"));
            }
        }
    }

    /// <summary>A byte count; an empty value means null (unlimited), as for the Sockets transport's options.</summary>
    private static void ReadSize(IConfigurationSection section, string key, List<string> failures, Action<long?> set)
    {
        if (section[key] is { } text)
        {
            if (text.Length == 0)
            {
                set(null);
            }
            else if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
            {
                set(value);
            }
            else
            {
                failures.Add(Describe(key, text, "a byte count (or empty for unlimited)"));
            }
        }
    }

    private static string Describe(string key, string text, string expected)
        => $"{SectionName}:{key} ({nameof(EpollTransportOptions)}.{key}) must be {expected}; it is '{text}'.";
}
