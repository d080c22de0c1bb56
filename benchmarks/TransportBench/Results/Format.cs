using System.Globalization;

namespace TransportBench.Results;

/// <summary>How numbers look in the terminal, Markdown and SVG: invariant culture, "n/a" for missing.</summary>
internal static class Format
{
    public const string Missing = "n/a";

    public static string Rate(double? value) => value is double v ? v.ToString("N0", CultureInfo.InvariantCulture) : Missing;

    public static string Ratio(double? value) => value is double v ? v.ToString("0.00", CultureInfo.InvariantCulture) + "×" : Missing;

    public static string Number(double? value, string format = "0.0") =>
        value is double v ? v.ToString(format, CultureInfo.InvariantCulture) : Missing;

    public static string Syscalls(IEnumerable<SyscallShare> shares) =>
        string.Join(", ", shares.Select(s => s.Name + " " + s.PerRequest.ToString("0.00", CultureInfo.InvariantCulture)));

    public static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
