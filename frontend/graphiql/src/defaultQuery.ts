// The first tab's text, shown until GraphiQL has tabs saved in this browser's storage.
export const DEFAULT_QUERY = `# Welcome to townsquare's GraphiQL.
#
# Run an operation: put the cursor in it and
# press Ctrl+Enter (Cmd+Enter on a Mac), or press
# the run button and pick it by name.
# Ctrl+Space completes; the book icon on the
# left opens the schema's documentation.
#
# Sign in
#  1. Run the SignIn mutation below. A
#     development server fills an empty database
#     with demo users alice, bob, carol, dave and
#     erin: <name>@example.com, password
#     townsquare-demo. \`register\` creates an
#     account of your own.
#  2. Copy \`token\` from the response.
#  3. Put it in the Headers pane below:
#       {"Authorization": "Bearer <token>"}
#     Queries and mutations send it with each
#     request, and subscriptions send it when
#     their socket opens: they run as you.

query Feed {
  posts(first: 5) {
    edges {
      cursor
      node {
        id
        body
        createdAt
        author {
          username
          displayName
        }
        likeCount
        likedByViewer
        commentCount
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}

mutation SignIn {
  login(
    email: "alice@example.com"
    password: "townsquare-demo"
  ) {
    token
    expiresAt
    user {
      id
      username
    }
  }
}

# A subscription runs over a WebSocket until you
# stop it. Sign in, remove the leading # of each
# line below and run it: your unread
# notifications arrive first, then one each time
# someone likes or comments on your posts or adds
# you as a contact.
#
# subscription MyNotifications {
#   notifications {
#     id
#     kind
#     createdAt
#     actor {
#       username
#     }
#     post {
#       id
#       body
#     }
#   }
# }
`;
