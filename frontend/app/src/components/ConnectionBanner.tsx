/** One quiet line about the live connection: paused, reconnecting, refused, offline. */
import { useConnection, useConnectionState } from '../session/session'

export function ConnectionBanner() {
  const connection = useConnection()
  const { status, message } = useConnectionState()
  if (!message || status === 'signedOut') return null
  const canRetry = status === 'tooMany' || status === 'failed' || status === 'offline'
  return (
    <div className={`banner banner-${status}`} role="status" data-testid="connection-banner" data-status={status}>
      <span>{message}</span>
      {canRetry && (
        <button type="button" className="link-button" onClick={() => connection?.resume()}>
          Reconnect
        </button>
      )}
    </div>
  )
}
