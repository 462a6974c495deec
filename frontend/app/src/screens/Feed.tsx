/** The feed: new post, posts with likes and comments, "load more". */
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react'
import { useClient, useMutation, useQuery } from 'urql'
import { Field, FormError, TextArea } from '../components/Field'
import { useHeadingFocus } from '../components/focus'
import { Time } from '../components/Time'
import { graphql } from '../gql'
import type { PostFieldsFragment } from '../gql/graphql'
import { errorMessage, NO_ERRORS, toFormErrors, type FormErrors } from '../graphql/errors'
import { listNames, plural } from '../format'
import { useMe } from '../me'
import { Link } from '../components/Link'
import { appendUnique } from '../session/dedupe'

const FeedQuery = graphql(`
  query Feed($after: String) {
    posts(first: 10, after: $after) {
      edges {
        node {
          ...PostFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`)

const ContactIds = graphql(`
  query ContactIds {
    contacts {
      id
    }
  }
`)

const CreatePost = graphql(`
  mutation CreatePost($body: String!) {
    createPost(body: $body) {
      ...PostFields
    }
  }
`)

const LikePost = graphql(`
  mutation LikePost($postId: ID!) {
    likePost(postId: $postId) {
      ...PostFields
    }
  }
`)

const UnlikePost = graphql(`
  mutation UnlikePost($postId: ID!) {
    unlikePost(postId: $postId) {
      ...PostFields
    }
  }
`)

const AddComment = graphql(`
  mutation AddComment($postId: ID!, $body: String!) {
    addComment(postId: $postId, body: $body) {
      id
      post {
        ...PostFields
      }
    }
  }
`)

const AddContact = graphql(`
  mutation AddContact($userId: ID!) {
    addContact(userId: $userId) {
      id
    }
  }
`)

interface Page {
  hasNextPage: boolean
  endCursor?: string | null
}

export function Feed() {
  const me = useMe()
  const heading = useHeadingFocus()
  const client = useClient()
  const [posts, setPosts] = useState<PostFieldsFragment[]>([])
  const [page, setPage] = useState<Page | null>(null)
  const [loading, setLoading] = useState(true)
  const [loadError, setLoadError] = useState('')
  const [{ data: contactData }] = useQuery({ query: ContactIds })
  const [added, setAdded] = useState<ReadonlySet<string>>(new Set())
  const contacts = new Set([...(contactData?.contacts.map((c) => c.id) ?? []), ...added])

  const fetchPage = useCallback(
    (after: string | null) => client.query(FeedQuery, { after }, { requestPolicy: 'network-only' }).toPromise(),
    [client],
  )

  const showPage = useCallback((result: Awaited<ReturnType<typeof fetchPage>>, after: string | null) => {
    setLoading(false)
    if (!result.data) return setLoadError(errorMessage(result.error))
    setLoadError('')
    const nodes = result.data.posts.edges.map((edge) => edge.node)
    setPosts((current) => (after ? appendUnique(current, nodes) : nodes))
    setPage(result.data.posts.pageInfo)
  }, [])

  useEffect(() => {
    let active = true
    void fetchPage(null).then((result) => active && showPage(result, null))
    return () => {
      active = false
    }
  }, [fetchPage, showPage])

  async function loadMore(after: string | null) {
    setLoading(true)
    showPage(await fetchPage(after), after)
  }

  const replace = useCallback((post: PostFieldsFragment) => {
    setPosts((current) => current.map((p) => (p.id === post.id ? post : p)))
  }, [])

  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        Feed
      </h1>
      {!me.emailVerified && (
        <p className="notice">
          Your email address is not verified yet. <Link to="/verify">Verify it</Link>
        </p>
      )}
      <NewPost onPosted={(post) => setPosts((current) => appendUnique([post], current))} />
      {loadError && <FormError message={loadError} />}
      {posts.length === 0 && !loading && !loadError && <p className="muted">No posts yet. Write the first one.</p>}
      <ul className="posts" aria-label="Posts">
        {posts.map((post) => (
          <li key={post.id}>
            <Post
              post={post}
              mine={post.author.id === me.id}
              isContact={contacts.has(post.author.id)}
              onChange={replace}
              onContactAdded={(id) => setAdded((current) => new Set([...current, id]))}
            />
          </li>
        ))}
      </ul>
      {loading && <p role="status">Loading posts…</p>}
      {page?.hasNextPage && !loading && (
        <button type="button" className="secondary" onClick={() => void loadMore(page.endCursor ?? null)}>
          Load more
        </button>
      )}
    </section>
  )
}

function NewPost({ onPosted }: { onPosted: (post: PostFieldsFragment) => void }) {
  const [{ fetching }, create] = useMutation(CreatePost)
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const form = useRef<HTMLFormElement>(null)

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const target = event.currentTarget
    const body = String(new FormData(target).get('body') ?? '')
    const result = await create({ body })
    if (!result.data) return setErrors(toFormErrors(result.error, ['body']))
    setErrors(NO_ERRORS)
    target.reset()
    onPosted(result.data.createPost)
  }

  return (
    <form ref={form} onSubmit={submit} className="card new-post" noValidate>
      {errors.form && <FormError message={errors.form} />}
      <TextArea
        label="New post"
        name="body"
        rows={3}
        maxLength={5000}
        required
        placeholder="What is happening?"
        error={errors.fields.body}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
            event.preventDefault()
            form.current?.requestSubmit()
          }
        }}
      />
      <button type="submit" disabled={fetching}>
        Post
      </button>
    </form>
  )
}

interface PostProps {
  post: PostFieldsFragment
  mine: boolean
  isContact: boolean
  onChange: (post: PostFieldsFragment) => void
  onContactAdded: (userId: string) => void
}

function Post({ post, mine, isContact, onChange, onContactAdded }: PostProps) {
  const [{ fetching: liking }, like] = useMutation(LikePost)
  const [{ fetching: unliking }, unlike] = useMutation(UnlikePost)
  const [{ fetching: adding }, addContact] = useMutation(AddContact)
  const [error, setError] = useState('')

  async function toggleLike() {
    const result = post.likedByViewer ? await unlike({ postId: post.id }) : await like({ postId: post.id })
    if (result.error) return setError(errorMessage(result.error))
    setError('')
    const updated = result.data && ('likePost' in result.data ? result.data.likePost : result.data.unlikePost)
    if (updated) onChange(updated)
  }

  async function add() {
    const result = await addContact({ userId: post.author.id })
    if (result.error) return setError(errorMessage(result.error))
    onContactAdded(post.author.id)
  }

  const headingId = `post-${post.id}`
  return (
    <article className="card post" aria-labelledby={headingId} data-testid="post">
      <header className="post-head">
        <h2 id={headingId} className="post-author">
          {post.author.displayName} <span className="muted">@{post.author.username}</span>
        </h2>
        <Time value={post.createdAt} />
        {!mine &&
          (isContact ? (
            <span className="muted small">In your contacts</span>
          ) : (
            <button type="button" className="link-button small" onClick={add} disabled={adding}>
              Add to contacts
            </button>
          ))}
      </header>
      <p className="body">{post.body}</p>
      <div className="post-actions">
        <button
          type="button"
          className="secondary small"
          aria-pressed={post.likedByViewer}
          onClick={toggleLike}
          disabled={liking || unliking}
        >
          <span aria-hidden="true">{post.likedByViewer ? '♥' : '♡'}</span> Like
        </button>
        <span className="muted small" data-testid="like-count">
          {plural(post.likeCount, 'like')}
          {post.likers.length > 0 &&
            ` · liked by ${listNames(
              post.likers.map((u) => u.displayName),
              post.likeCount,
            )}`}
        </span>
      </div>
      {error && <FormError message={error} />}
      <Comments post={post} onChange={onChange} />
    </article>
  )
}

function Comments({ post, onChange }: { post: PostFieldsFragment; onChange: (post: PostFieldsFragment) => void }) {
  const [{ fetching }, addComment] = useMutation(AddComment)
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const target = event.currentTarget
    const body = String(new FormData(target).get('body') ?? '')
    const result = await addComment({ postId: post.id, body })
    if (!result.data) return setErrors(toFormErrors(result.error, ['body']))
    setErrors(NO_ERRORS)
    target.reset()
    onChange(result.data.addComment.post)
  }

  return (
    <section className="comments" aria-label={`Comments on ${post.author.displayName}'s post`}>
      {post.commentCount > 0 && (
        <p className="muted small">
          {plural(post.commentCount, 'comment')}
          {post.commenters.length > 0 &&
            ` from ${listNames(post.commenters.map((u) => u.displayName))}`}
          {post.commentCount > post.comments.length && ` (showing the first ${post.comments.length})`}
        </p>
      )}
      {post.comments.length > 0 && (
        <ul className="comment-list">
          {post.comments.map((comment) => (
            <li key={comment.id}>
              <strong>{comment.author.displayName}</strong> <span className="body">{comment.body}</span>{' '}
              <span className="muted small">
                <Time value={comment.createdAt} />
              </span>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={submit} className="inline-form" noValidate>
        <Field
          label="Write a comment"
          hideLabel
          name="body"
          maxLength={2000}
          placeholder="Write a comment"
          required
          error={errors.fields.body}
        />
        <button type="submit" className="secondary small" disabled={fetching}>
          Comment
        </button>
      </form>
      {errors.form && <FormError message={errors.form} />}
    </section>
  )
}
