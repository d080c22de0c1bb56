namespace TransportBench.Results;

/// <summary>How numbers look in the terminal, Markdown and SVG (invariant culture, "n/a" for missing), and table rows.</summary>
internal static class Format
{
    public const string Missing = "n/a";
    public static string Rate(double? value) => value is double v ? v.ToString("N0", CultureInfo.InvariantCulture) : Missing;
    public static string Ratio(double? value) => value is double v ? v.ToString("0.00", CultureInfo.InvariantCulture) + "×" : Missing;
    public static string Number(double? value, string format = "0.0") => value is double v ? v.ToString(format, CultureInfo.InvariantCulture) : Missing;

    public static string Syscalls(IEnumerable<SyscallShare> shares) =>
        string.Join(", ", shares.Select(s => s.Name + " " + s.PerRequest.ToString("0.00", CultureInfo.InvariantCulture)));

    public static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
    /// <summary>The columns that hold words, left-aligned; every other column holds numbers, right-aligned.</summary>
    private static readonly HashSet<string> WordColumns = ["scenario", "layout", "server", "transport as the server reports it", "GC", "top syscalls per request", "note"];

    public static StringBuilder Header(this StringBuilder md, params IEnumerable<string> columns) =>
        md.Row(columns).Append('|').AppendJoin("", columns.Select(c => WordColumns.Contains(c) ? "---|" : "--:|")).AppendLine();

    public static StringBuilder Row(this StringBuilder md, params IEnumerable<string> cells) =>
        md.Append("| ").AppendJoin(" | ", cells).AppendLine(" |");
}
