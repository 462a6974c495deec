/** A timestamp as the reader's locale writes it, machine-readable in `dateTime`. */
const format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

export function Time({ value }: { value: string }) {
  const date = new Date(value)
  return <time dateTime={value}>{Number.isNaN(date.getTime()) ? value : format.format(date)}</time>
}
