/** Fragments shared by several screens. */
import { graphql } from '../gql'

export const UserBits = graphql(`
  fragment UserBits on User {
    id
    username
    displayName
  }
`)

export const PostFields = graphql(`
  fragment PostFields on Post {
    id
    body
    createdAt
    likeCount
    likedByViewer
    commentCount
    author {
      ...UserBits
    }
    likers(first: 5) {
      ...UserBits
    }
    commenters(first: 5) {
      ...UserBits
    }
    comments(first: 20) {
      id
      body
      createdAt
      author {
        ...UserBits
      }
    }
  }
`)

export const MessageFields = graphql(`
  fragment MessageFields on ChatMessage {
    id
    body
    createdAt
    author {
      ...UserBits
    }
  }
`)

export const NotificationFields = graphql(`
  fragment NotificationFields on Notification {
    id
    kind
    createdAt
    read
    actor {
      ...UserBits
    }
    post {
      id
      body
    }
    comment {
      id
      body
    }
  }
`)
