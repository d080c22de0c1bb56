using System.Text;

namespace TransportBench.Results;

/// <summary>results.md's tables: a header and the separator that goes with it, and rows.</summary>
internal static class Markdown
{
    /// <summary>The columns that hold words, left-aligned; every other column holds numbers, right-aligned.</summary>
    private static readonly HashSet<string> WordColumns = ["scenario", "layout", "server", "transport as the server reports it", "GC", "top syscalls per request", "note"];

    public static StringBuilder Header(this StringBuilder md, params IEnumerable<string> columns) =>
        md.Row(columns).Append('|').AppendJoin("", columns.Select(c => WordColumns.Contains(c) ? "---|" : "--:|")).AppendLine();

    public static StringBuilder Row(this StringBuilder md, params IEnumerable<string> cells) =>
        md.Append("| ").AppendJoin(" | ", cells).AppendLine(" |");
}
